/**
 * The kernel's own counters beyond messages in and out: spawns, exits by reason, restarts
 * by supervisor, refusals and drops by cause, calls timed out, a reservoir of call
 * latencies, and the message rate over the last second and the last ten seconds.
 *
 * Why here and not in `effect/Metric`: the hot paths (send, receive, call) must not pay a
 * Metric update per message. The kernel increments plain fields; `rain/Telemetry`
 * publishes them to `Metric` on an interval, and `node.metrics()` reads them directly.
 * Everything that is not a plain increment runs once per call (latency, only while a
 * telemetry publisher asks for it), once per process lifetime, or at most once a second:
 * the message rate is sampled (performance.now() time) when a drain starts a second or more
 * after the previous sample, and when the rate is read; an idle node keeps no timer.
 *
 * @internal
 */
import type { ExitReason } from "../../Process/ExitReason.js"

/** How many call latencies the reservoir keeps between two reads. */
export const LATENCY_SLOTS = 1024

/** Seconds of message-count history kept for the rate over the last 10 s. */
const WINDOW = 10

/** The counters of one node. */
export class NodeStats {
  spawns = 0
  /** Exits by reason tag (`normal`, `shutdown`, `killed`, `error`, ...). */
  readonly exits = new Map<string, number>()
  /** Restarts by supervisor (its registered name, or its behaviour name). */
  readonly restarts = new Map<string, number>()
  /** Local sends and calls refused because the mailbox was full. */
  refusedMailboxFull = 0
  /** Local sends and spawns refused above `limits.maxMemory`. */
  refusedMemory = 0
  /** Sends to a local address with no live process (silent, as in Erlang). */
  droppedNoProcess = 0
  calls = 0
  callsTimedOut = 0
  /**
   * True while a publisher wants call latencies: a call then reads `performance.now()`
   * twice. Off, a call pays one boolean read.
   */
  timeCalls = false
  /** Telemetry publishers running for this node (`timeCalls` while there is one). */
  publishers = 0
  /** Latencies in milliseconds of the calls completed since the last `takeLatencies`, newest overwrite oldest. */
  private readonly latencies = new Float64Array(LATENCY_SLOTS)
  private latencyCount = 0
  /** Messages in at each of the last WINDOW + 1 ticks (a ring), and the ticks' times. */
  private readonly history = new Float64Array(WINDOW + 1)
  private readonly times = new Float64Array(WINDOW + 1)
  private ticks = 0
  /** When the next sample is due (`performance.now()` time). */
  nextTick = 0

  constructor(startedAt: number) {
    this.times[0] = startedAt
    this.ticks = 1
    this.nextTick = startedAt + 1000
  }

  exited(reason: ExitReason): void {
    const tag = reason._tag
    this.exits.set(tag, (this.exits.get(tag) ?? 0) + 1)
  }

  restarted(supervisor: string): void {
    this.restarts.set(supervisor, (this.restarts.get(supervisor) ?? 0) + 1)
  }

  /** A call completed after `millis`. */
  latency(millis: number): void {
    this.latencies[this.latencyCount++ % LATENCY_SLOTS] = millis
  }

  /** The latencies recorded since the last call (at most `LATENCY_SLOTS`, the newest), and how many there were in all. */
  takeLatencies(): { readonly values: Float64Array; readonly total: number } {
    const total = this.latencyCount
    this.latencyCount = 0
    const n = Math.min(total, LATENCY_SLOTS)
    return { values: this.latencies.slice(0, n), total }
  }

  /** A sample: how many messages the node had handled by `now`. */
  tick(now: number, messagesIn: number): void {
    const i = this.ticks % (WINDOW + 1)
    this.history[i] = messagesIn
    this.times[i] = now
    this.ticks++
    this.nextTick = now + 1000
  }

  /**
   * Messages handled per second over about the last `seconds` (1 or 10): from the newest
   * sample at least that old (or the oldest kept, or the node's start) to now. Samples are
   * a second or more apart, so the window is `seconds` to about twice that when the node
   * was idle in between (an idle node's rate is then diluted towards 0, as it should).
   */
  rate(seconds: number, now: number, messagesIn: number): number {
    if (now >= this.nextTick) this.tick(now, messagesIn)
    const kept = Math.min(this.ticks, WINDOW + 1)
    let i = (this.ticks - 1) % (WINDOW + 1)
    for (let n = 1; n < kept && now - this.times[i]! < seconds * 1000; n++) i = (i + WINDOW) % (WINDOW + 1)
    const elapsed = now - this.times[i]!
    return elapsed > 0 ? ((messagesIn - this.history[i]!) * 1000) / elapsed : 0
  }
}
