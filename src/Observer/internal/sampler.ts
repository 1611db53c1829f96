/**
 * The live charts' data: every `interval`, the `Info` of each node the observer sees
 * (process count, messages handled, memory), kept for `history` rounds. Rounds share one
 * time axis; a node that did not answer (or was not connected yet) has `null` there, which
 * the charts draw as a gap.
 *
 * @internal
 */
import type { Duration, Scope } from "effect"
import { Clock, Effect, Schedule } from "effect"
import type { Clients } from "./clients.js"

interface Series {
  readonly processes: Array<number | null>
  readonly rate: Array<number | null>
  readonly memory: Array<number | null>
  last: { readonly messages: number; readonly at: number } | undefined
}

export interface Snapshot {
  /** Seconds since the epoch, one per round. */
  readonly t: ReadonlyArray<number>
  readonly nodes: Record<string, { readonly processes: ReadonlyArray<number | null>; readonly rate: ReadonlyArray<number | null>; readonly memory: ReadonlyArray<number | null> }>
}

export interface Sampler {
  readonly snapshot: () => Snapshot
}

export const start = (
  clients: Clients,
  options: { readonly interval: Duration.DurationInput; readonly history: number }
): Effect.Effect<Sampler, never, Scope.Scope> =>
  Effect.gen(function*() {
    const t: Array<number> = []
    const series = new Map<string, Series>()

    const round = Effect.gen(function*() {
      const nodes = yield* clients.nodes
      const infos = yield* Effect.forEach(
        nodes,
        (node) => Effect.option(clients.use(node, (c) => c.Info())).pipe(Effect.map((info) => [node, info] as const)),
        { concurrency: "unbounded" }
      )
      const now = yield* Clock.currentTimeMillis
      t.push(now / 1000)
      for (const [node, info] of infos) {
        if (!series.has(node)) {
          series.set(node, {
            processes: t.slice(1).map(() => null),
            rate: t.slice(1).map(() => null),
            memory: t.slice(1).map(() => null),
            last: undefined
          })
        }
        const s = series.get(node)!
        if (info._tag === "None") {
          s.processes.push(null)
          s.rate.push(null)
          s.memory.push(null)
          continue
        }
        const { processCount, messagesIn, memoryUsage } = info.value
        const seconds = s.last === undefined ? 0 : (now - s.last.at) / 1000
        s.processes.push(processCount)
        s.rate.push(seconds > 0 ? Math.max(0, (messagesIn - s.last!.messages) / seconds) : null)
        s.memory.push(memoryUsage)
        s.last = { messages: messagesIn, at: now }
      }
      // nodes gone this round get a gap; nodes gone for the whole history are forgotten
      for (const [node, s] of series) {
        if (s.processes.length < t.length) {
          s.processes.push(null)
          s.rate.push(null)
          s.memory.push(null)
          s.last = undefined
        }
        if (t.length > options.history) {
          s.processes.shift()
          s.rate.shift()
          s.memory.shift()
        }
        if (s.processes.every((v) => v === null)) series.delete(node)
      }
      if (t.length > options.history) t.shift()
    })

    // a round that dies is told and the next one runs: the charts never stop for one bad answer
    const guarded = Effect.catchAllCause(round, (cause) => Effect.logWarning("observer: a chart sample failed", cause))
    yield* Effect.forkScoped(Effect.repeat(guarded, Schedule.spaced(options.interval)))

    return {
      snapshot: () => {
        const nodes: Record<string, Snapshot["nodes"][string]> = {}
        for (const [node, s] of series) nodes[node] = { processes: s.processes, rate: s.rate, memory: s.memory }
        return { t, nodes }
      }
    }
  })
