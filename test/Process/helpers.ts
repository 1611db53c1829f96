import { Deferred, Effect, Schema } from "effect"
import type { Node, Process as P } from "../../src/index.js"
import { Process } from "../../src/index.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"

export class Increment extends Schema.TaggedClass<Increment>()("Increment", { by: Schema.Number }) {}
export class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: {}
}) {}

export const Counter = Process.make({
  name: "Counter",
  init: (start: number) => Effect.succeed(start),
  handleMessage: (msg: Increment, count) => Effect.succeed(count + msg.by),
  handleCall: (_req: GetCount, _from, count) => Effect.succeed(Process.reply(count, count))
})

/** Forwards every message and info it gets to `to`; fails on "crash", stops on "stop". */
export type Command = "crash" | "die" | "stop" | { readonly link: P.Pid } | { readonly exitTo: P.Pid; readonly reason: P.Reason } | unknown

export const Relay = Process.make({
  name: "Relay",
  init: (to: P.Pid | undefined) => Effect.succeed(to),
  handleMessage: (msg: Command, to, ctx) => {
    if (msg === "crash") return Effect.fail("crashed on purpose")
    if (msg === "die") return Effect.die(new Error("defect on purpose"))
    if (msg === "stop") return Effect.as(ctx.stop(), to)
    if (typeof msg === "object" && msg !== null && "link" in msg) return Effect.as(ctx.link((msg as any).link), to)
    if (typeof msg === "object" && msg !== null && "exitTo" in msg) {
      return Effect.as(ctx.exit((msg as any).exitTo, (msg as any).reason), to)
    }
    return to === undefined ? Effect.succeed(to) : Effect.as(ctx.send(to, msg), to)
  },
  handleInfo: (info, to, ctx) => (to === undefined ? Effect.succeed(to) : Effect.as(ctx.send(to, info), to))
})

/** Waits for nothing: a process that only lives. */
export const Idle = Process.make({ name: "Idle", init: () => Effect.void })

/** Answers "echo"; its `terminate` tells `probe` "exiting", then holds until `gate` opens (a process caught exiting). */
export const Lingering = Process.make({
  name: "Lingering",
  init: (args: { readonly probe: P.Pid; readonly gate: Deferred.Deferred<void> }) => Effect.succeed(args),
  handleCall: (_: "echo", _from, s) => Effect.succeed(Process.reply("echo", s)),
  terminate: (_reason, s, ctx) => Effect.orDie(ctx.send(s.probe, "exiting")).pipe(Effect.zipRight(Deferred.await(s.gate)))
})

/**
 * Entries in the node's clock-timer heap (TestClock timers), cancelled ones included. The kernel
 * keeps its ClockTimers private; read it here until it has an internal accessor.
 */
export const clockTimerCount = (node: Node.NodeService): number =>
  (kernelOf(node) as unknown as { readonly clockTimers: { readonly size: number } }).clockTimers.size

/** Timers set and neither fired nor cancelled in the node's clock-timer heap. */
export const liveClockTimers = (node: Node.NodeService): number =>
  (kernelOf(node) as unknown as { readonly clockTimers: { readonly live: number } }).clockTimers.live

/**
 * Bounds a wait in real time (TestClock cannot end it): fails with `what` after `seconds`, so a
 * broken behaviour fails fast with a message instead of at vitest's timeout.
 */
export const within = <A, E, R>(effect: Effect.Effect<A, E, R>, what: string, seconds = 10): Effect.Effect<A, E | string, R> =>
  Effect.raceFirst(
    effect,
    Effect.flatMap(
      Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, seconds * 1000).unref())),
      () => Effect.fail(`timed out after ${seconds} s waiting for ${what}`)
    )
  )

/**
 * Polls `check` every 20 ms of real time (TestClock does not move on its own) until it gives a
 * value, failing with `what` after `seconds`.
 */
export const eventually = <A>(check: Effect.Effect<A | undefined>, what: string, seconds = 5): Effect.Effect<A, string> => {
  const deadline = Date.now() + seconds * 1000
  const loop: Effect.Effect<A, string> = Effect.flatMap(check, (value) =>
    value !== undefined
      ? Effect.succeed(value)
      : Date.now() > deadline
      ? Effect.fail(`${what} (gave up after ${seconds} s)`)
      : Effect.zipRight(Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 20))), loop))
  return Effect.suspend(() => loop)
}
