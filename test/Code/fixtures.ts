/**
 * Behaviours of the code-upgrade tests: a counter whose v1 keeps its counts in a tuple and
 * whose v2 keeps them in a record (a new state shape), both checking that every stream's
 * sequence numbers arrive exactly once and in order (a gap or a repeat crashes them).
 */
import { Effect } from "effect"
import type { Process as P } from "../../src/index.js"
import { Process } from "../../src/index.js"

/** One message of a stream: its source and its sequence number (1, 2, ...). */
export interface Tick {
  readonly src: "local" | "remote"
  readonly seq: number
}

/** What a counter answers to "get". */
export interface Counts {
  readonly version: number
  readonly id: string
  readonly local: number
  readonly remote: number
  /** Messages handled by v2. */
  readonly byV2: number
}

type V1State = readonly [id: string, local: number, remote: number]

export const CounterV1 = Process.make({
  name: "Counter",
  version: 1,
  init: (id: string) => Effect.succeed<V1State>([id, 0, 0]),
  handleMessage: (tick: Tick | "crash" | "block", [id, local, remote]): Effect.Effect<V1State, string> => {
    if (tick === "crash") return Effect.fail("crashed on purpose")
    if (tick === "block") return Effect.as(Effect.never, [id, local, remote] as const)
    const last = tick.src === "local" ? local : remote
    if (tick.seq !== last + 1) return Effect.die(`v1 ${id}: ${tick.src} expected ${last + 1}, got ${tick.seq}`)
    return Effect.succeed(tick.src === "local" ? [id, tick.seq, remote] : [id, local, tick.seq])
  },
  handleCall: (_: "get", _from, state) =>
    Effect.succeed(Process.reply<Counts, V1State>({ version: 1, id: state[0], local: state[1], remote: state[2], byV2: 0 }, state))
})

interface V2State {
  readonly id: string
  readonly counts: { readonly local: number; readonly remote: number }
  readonly byV2: number
  readonly extra: unknown
}

/** v2: a record instead of a tuple. Its codeChange fails for a counter whose id is in `extra.refuse`. */
export const CounterV2 = Process.make({
  name: "Counter",
  version: 2,
  init: (id: string) => Effect.succeed<V2State>({ id, counts: { local: 0, remote: 0 }, byV2: 0, extra: undefined }),
  handleMessage: (tick: Tick | "crash", state): Effect.Effect<V2State, string> => {
    if (tick === "crash") return Effect.fail("crashed on purpose")
    const last = state.counts[tick.src]
    if (tick.seq !== last + 1) return Effect.die(`v2 ${state.id}: ${tick.src} expected ${last + 1}, got ${tick.seq}`)
    return Effect.succeed({ ...state, counts: { ...state.counts, [tick.src]: tick.seq }, byV2: state.byV2 + 1 })
  },
  handleCall: (_: "get", _from, state) =>
    Effect.succeed(Process.reply<Counts, V2State>({
      version: 2,
      id: state.id,
      local: state.counts.local,
      remote: state.counts.remote,
      byV2: state.byV2
    }, state)),
  codeChange: (oldVersion, state: V1State, extra) => {
    if (oldVersion !== 1) return Effect.fail(`cannot upgrade from version ${String(oldVersion)}`)
    const refuse = (extra as { readonly refuse?: ReadonlyArray<string> } | undefined)?.refuse ?? []
    if (refuse.includes(state[0])) return Effect.fail(`refusing ${state[0]}`)
    return Effect.succeed<V2State>({ id: state[0], counts: { local: state[1], remote: state[2] }, byV2: 0, extra })
  }
})

/**
 * Sends `total` ticks (1..total) to `to`, 500 per turn so that others run between, then tells
 * `report` "<src> done". With `pauseAt`, it stops after that tick, tells `report` "<src> half"
 * and goes on at the next "go".
 */
export const Producer = Process.make({
  name: "Producer",
  init: (args: {
    readonly to: P.Pid
    readonly src: Tick["src"]
    readonly total: number
    readonly report: P.Pid
    readonly pauseAt?: number
  }) => Effect.succeed({ ...args, next: 1 }),
  handleMessage: (_: "go", state, ctx) =>
    Effect.gen(function*() {
      const limit = state.pauseAt !== undefined && state.next <= state.pauseAt ? state.pauseAt : state.total
      const end = Math.min(state.next + 500, limit + 1)
      for (let seq = state.next; seq < end; seq++) yield* ctx.send(state.to, { src: state.src, seq })
      if (end > limit) yield* ctx.send(state.report, `${state.src} ${limit === state.total ? "done" : "half"}`)
      else yield* ctx.send(ctx.self, "go")
      return { ...state, next: end }
    })
})
