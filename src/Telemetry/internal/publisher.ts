/**
 * Publishes a node's counters to `effect/Metric` on an interval. The kernel counts in plain
 * fields (see `Node/internal/stats.ts`); this fiber reads them once per interval and
 * turns them into Metric updates (counters by delta, gauges by value, histograms by the
 * observations since the last run), every series tagged `node`. The hot paths never
 * touch a Metric.
 *
 * @internal
 */
import type { Scope } from "effect"
import { Duration, Effect, Metric, MetricBoundaries, MetricLabel, Schedule } from "effect"
import { kernelOf } from "../../Node/internal/kernel.js"
import type { Distribution } from "../../Node/internal/dist/connection.js"
import type { Kernel } from "../../Node/internal/kernel.js"
import type { NodeService } from "../../Node/index.js"

/** Most processes whose mailbox depth is observed per interval (the histogram is sampled). */
const MAILBOX_SAMPLE = 10_000

const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })
const gauge = (name: string, description: string) => Metric.gauge(name, { description })

/** The metrics Rain publishes; names follow Prometheus' conventions (the exporter adds `_total` to counters). */
export const metrics = {
  processes: gauge("rain_processes", "Live processes on the node"),
  registeredNames: gauge("rain_registered_names", "Registered names on the node"),
  spawns: counter("rain_spawns", "Processes spawned"),
  exits: counter("rain_exits", "Processes that exited, by reason (normal, shutdown, killed, error, ...)"),
  restarts: counter("rain_supervisor_restarts", "Children restarted, by supervisor (registered name or behaviour)"),
  messagesIn: counter("rain_messages_in", "Messages (and calls) handled by the node's processes"),
  messagesOut: counter("rain_messages_out", "Messages (and calls) sent by the node's processes"),
  messageRate: gauge("rain_message_rate", "Messages handled per second, over the window (1s, 10s)"),
  refused: counter(
    "rain_messages_refused",
    "Sends and calls refused with an error to the sender, by cause (mailbox_full, memory_limit)"
  ),
  dropped: counter(
    "rain_messages_dropped",
    "Messages dropped without telling the sender, by cause (no_process, mailbox_full from another node, undecodable)"
  ),
  mailboxDepth: Metric.histogram(
    "rain_mailbox_depth",
    MetricBoundaries.fromIterable([0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000, 100000]),
    "Messages queued per process, sampled each interval (up to 10,000 processes)"
  ),
  calls: counter("rain_calls", "Calls made from the node (important sends included)"),
  callsTimedOut: counter("rain_calls_timed_out", "Calls that failed with Timeout"),
  callLatency: Metric.histogram(
    "rain_call_duration_seconds",
    MetricBoundaries.exponential({ start: 0.00001, factor: 4, count: 12 }),
    "Time from call to reply, in seconds (the newest 1,024 calls of each interval)"
  ),
  bytesIn: counter("rain_peer_bytes_in", "Bytes received from a peer node"),
  bytesOut: counter("rain_peer_bytes_out", "Bytes sent to a peer node"),
  framesIn: counter("rain_peer_frames_in", "Frames received from a peer node"),
  framesOut: counter("rain_peer_frames_out", "Frames sent to a peer node"),
  connects: counter("rain_peer_connects", "Connections established with a peer node"),
  reconnects: counter("rain_peer_reconnects", "Connections established with a peer node after the first"),
  handshakeFailures: counter("rain_handshake_failures", "Failed handshakes, by reason (cookie, version, timeout, ...)")
} as const

/** Counters are published as deltas from what was published before. */
class Deltas {
  private readonly last = new Map<string, number>()
  constructor(private readonly node: MetricLabel.MetricLabel) {}

  counter(metric: Metric.Metric.Counter<number>, value: number, tags: ReadonlyArray<MetricLabel.MetricLabel> = []): void {
    const id = `${metricName(metric)}\u0000${tags.map((t) => `${t.key}=${t.value}`).join(",")}`
    const previous = this.last.get(id) ?? 0
    this.last.set(id, value)
    if (value > previous) metric.unsafeUpdate(value - previous, [this.node, ...tags])
  }

  gauge(metric: Metric.Metric.Gauge<number>, value: number, tags: ReadonlyArray<MetricLabel.MetricLabel> = []): void {
    metric.unsafeUpdate(value, [this.node, ...tags])
  }

  observe(metric: Metric.Metric.Histogram<number>, value: number): void {
    metric.unsafeUpdate(value, [this.node])
  }
}

const deltasOf = new WeakMap<Kernel, Deltas>()

const names = new WeakMap<object, string>()
for (const [name, metric] of Object.entries(metrics)) names.set(metric, name)
const metricName = (metric: object): string => names.get(metric) ?? "?"

const label = (key: string, value: string) => MetricLabel.make(key, value)

/** One publication of a node's figures. */
const publishOnce = (kernel: Kernel, deltas: Deltas): void => {
  const stats = kernel.stats
  deltas.gauge(metrics.processes, kernel.procs.size)
  deltas.gauge(metrics.registeredNames, kernel.names.size)
  deltas.counter(metrics.spawns, stats.spawns)
  for (const [reason, n] of stats.exits) deltas.counter(metrics.exits, n, [label("reason", reason)])
  for (const [supervisor, n] of stats.restarts) deltas.counter(metrics.restarts, n, [label("supervisor", supervisor)])
  deltas.counter(metrics.messagesIn, kernel.totalIn)
  deltas.counter(metrics.messagesOut, kernel.totalOut)
  const now = performance.now()
  deltas.gauge(metrics.messageRate, stats.rate(1, now, kernel.totalIn), [label("window", "1s")])
  deltas.gauge(metrics.messageRate, stats.rate(10, now, kernel.totalIn), [label("window", "10s")])
  // The kernel's Remote is the node's Distribution (the only implementation).
  const dist = kernel.remote as Distribution | undefined
  const remoteFull = dist?.drops.mailboxFull ?? 0
  // A full mailbox refuses both local senders (told) and messages from other nodes (not told).
  deltas.counter(metrics.refused, stats.refusedMailboxFull - remoteFull, [label("cause", "mailbox_full")])
  deltas.counter(metrics.refused, stats.refusedMemory, [label("cause", "memory_limit")])
  deltas.counter(metrics.dropped, stats.droppedNoProcess, [label("cause", "no_process")])
  deltas.counter(metrics.dropped, remoteFull, [label("cause", "mailbox_full")])
  deltas.counter(metrics.dropped, dist?.drops.undecodable ?? 0, [label("cause", "undecodable")])
  deltas.counter(metrics.calls, stats.calls)
  deltas.counter(metrics.callsTimedOut, stats.callsTimedOut)
  const { values } = stats.takeLatencies()
  for (let i = 0; i < values.length; i++) deltas.observe(metrics.callLatency, values[i]! / 1000)
  let sampled = 0
  for (const proc of kernel.procs.values()) {
    if (sampled++ >= MAILBOX_SAMPLE) break
    deltas.observe(metrics.mailboxDepth, proc.mailboxLength())
  }
  if (dist !== undefined) {
    for (const [peer, t] of dist.peers.traffic()) {
      const tags = [label("peer", peer)]
      deltas.counter(metrics.bytesIn, t.bytesIn, tags)
      deltas.counter(metrics.bytesOut, t.bytesOut, tags)
      deltas.counter(metrics.framesIn, t.framesIn, tags)
      deltas.counter(metrics.framesOut, t.framesOut, tags)
      deltas.counter(metrics.connects, t.connects, tags)
      deltas.counter(metrics.reconnects, Math.max(0, t.connects - 1), tags)
    }
    for (const [reason, n] of dist.peers.handshakeFailures) {
      deltas.counter(metrics.handshakeFailures, n, [label("reason", reason)])
    }
  }
}

/**
 * Publishes `node`'s figures now and then every `intervalMillis` of Clock time, until the
 * scope closes (then once more, so that the last counts are not lost). While it runs, the
 * node times its calls.
 */
export const publish = (node: NodeService, interval: Duration.Duration): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const kernel = kernelOf(node)
    // One set of last-published values per node: two publishers of a node must not count twice.
    const deltas = deltasOf.get(kernel) ?? new Deltas(label("node", kernel.name))
    deltasOf.set(kernel, deltas)
    const stats = kernel.stats
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        stats.publishers++
        stats.timeCalls = true
      }),
      () =>
        Effect.sync(() => {
          publishOnce(kernel, deltas)
          stats.publishers--
          stats.timeCalls = stats.publishers > 0
        })
    )
    yield* Effect.sync(() => publishOnce(kernel, deltas)).pipe(
      Effect.repeat(Schedule.spaced(interval)),
      Effect.interruptible,
      Effect.forkScoped
    )
  })

/** Milliseconds of a publishing interval, or why it cannot be one. */
export const intervalOf = (input: Duration.DurationInput | undefined): Duration.Duration | undefined => {
  const decoded = Duration.decodeUnknown(input ?? "5 seconds")
  if (decoded._tag === "None") return undefined
  const millis = Duration.toMillis(decoded.value)
  return Number.isFinite(millis) && millis > 0 ? decoded.value : undefined
}
