import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, TestClock } from "effect"
import type { Process as P } from "../../src/index.js"
import { Process, Testing } from "../../src/index.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"

/** Keeps each call's `from` and replies only when told to ("reply"). */
const makeHolder = (got: Deferred.Deferred<void>) =>
  Process.make({
    name: "Holder",
    init: () => Effect.succeed<P.From | undefined>(undefined),
    handleCall: (_: "ask", from, _s) => Effect.as(Deferred.succeed(got, undefined), Process.noReply<P.From | undefined>(from)),
    handleMessage: (_: "reply", from, ctx) =>
      from === undefined ? Effect.succeed(from) : Effect.as(ctx.reply(from, "late answer"), undefined)
  })

/** Blocks the event loop (a stall: GC pause, a long synchronous task) for `millis` of real time. */
const stall = (millis: number) => {
  const until = Date.now() + millis
  while (Date.now() < until) {
    // busy
  }
}

describe("calls", () => {
  it.scopedLive("a reply that arrives after the deadline fails the call with Timeout, even when it runs before the timer", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      for (let round = 0; round < 5; round++) {
        const got = yield* Deferred.make<void>()
        const holder = yield* env.spawn(makeHolder(got), undefined)
        const call = yield* Effect.fork(env.node.call(holder, "ask" as const, "50 millis"))
        yield* Deferred.await(got)
        yield* Effect.sync(() => {
          // The loop stalls past the deadline; then the reply is queued (a microtask: it runs
          // before the overdue timeout timer, a macrotask). Decided by the clock, it is late.
          stall(80)
          Effect.runFork(env.node.trySend(holder, "reply"))
        })
        const exit = yield* Fiber.await(call)
        assert.isTrue(Exit.isFailure(exit), `round ${round}: a late reply was delivered as a success`)
        if (Exit.isFailure(exit)) {
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          assert.strictEqual((error as { _tag?: string } | undefined)?._tag, "Timeout")
          assert.strictEqual((error as { target?: string }).target, holder.toString(), "the late reply's Timeout names the callee")
        }
      }
      assert.strictEqual(kernelOf(env.node).stats.callsTimedOut, 5, "each late call counted once, as timed out")
    }))

  it.scoped("a Timeout names the callee as it was addressed (pid or name) and says how long; an unknown name is named too", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const got = yield* Deferred.make<void>()
      const holder = yield* env.spawn(makeHolder(got), undefined)
      yield* env.node.register("holder", holder)
      const byPid = yield* Effect.fork(env.node.call(holder, "ask" as const, "2 seconds"))
      const byName = yield* Effect.fork(env.node.call("holder" as unknown as typeof holder, "ask" as const, "3 seconds"))
      const important = yield* Effect.fork(env.node.callImportant(holder, "ask" as const, "4 seconds"))
      yield* TestClock.adjust("4 seconds")
      const pidTimeout = yield* Effect.flip(Fiber.join(byPid))
      assert.include(pidTimeout, { _tag: "Timeout", target: holder.toString(), millis: 2000 })
      const nameTimeout = yield* Effect.flip(Fiber.join(byName))
      assert.include(nameTimeout, { _tag: "Timeout", target: "holder", millis: 3000 })
      const importantTimeout = yield* Effect.flip(Fiber.join(important))
      assert.include(importantTimeout, { _tag: "Timeout", target: holder.toString(), millis: 4000, delivered: true })
      assert.strictEqual(kernelOf(env.node).stats.callsTimedOut, 3, "each timed-out call counted once")
      const unknown = yield* Effect.flip(env.node.call("nobody" as unknown as typeof holder, "ask" as const))
      assert.include(unknown, { _tag: "ProcessUnknown", target: "nobody" })
    }))
})
