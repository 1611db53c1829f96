/**
 * `network.busyWait`: after a call, a reply or an important send leaves, the node's event loop
 * keeps polling for a while instead of sleeping; one-way sends do not start it.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Effect, Exit } from "effect"
import { Node, Process } from "../../src/index.js"
import { busyWait, busyWaitsAsked, isBusyWaiting } from "../../src/Node/internal/dist/busyWait.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"
import { cluster, cookie } from "../fixtures/dist.js"

/** Waits (real time, bounded) until this thread stops busy-waiting. */
const settled = Effect.gen(function*() {
  for (let i = 0; i < 200 && isBusyWaiting(); i++) yield* Effect.sleep("5 millis")
  assert.isFalse(isBusyWaiting(), "the busy wait ends")
})

const Echo = Process.make({
  name: "Echo",
  init: () => Effect.succeed(0),
  handleMessage: (_: string, n: number) => Effect.succeed(n + 1),
  handleCall: (req: string, _from, n: number) => Effect.succeed(Process.reply(req, n))
})

describe("busy waiting after a request or an answer", () => {
  it.live("busyWait keeps the loop turning for the time asked, then stops; a longer request extends it", () =>
    Effect.gen(function*() {
      yield* settled
      const t0 = performance.now()
      busyWait(8)
      busyWait(1) // shorter: does not cut the 8 ms short
      assert.isTrue(isBusyWaiting())
      yield* settled
      assert.isAtLeast(performance.now() - t0, 8, "polled for the 8 ms asked")
    }))

  it.scopedLive("a remote call starts it; one-way sends do not; 0 turns it off; 100 µs by default", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1", { busyWait: "8 millis" })
      const b = yield* make("b@127.0.0.1", { busyWait: "8 millis" })
      const echo = yield* b.spawn(Echo, undefined)
      // counted rather than timed: a loaded machine may return to this fiber after the wait ended
      let asked = busyWaitsAsked()
      assert.strictEqual(yield* a.node.call(echo, "hello", "10 seconds"), "hello")
      assert.strictEqual(busyWaitsAsked() - asked, 2, "one wait after the call left a, one after the reply left b")
      asked = busyWaitsAsked()
      for (let i = 0; i < 10; i++) yield* a.node.send(echo, "one way")
      yield* Effect.sleep("20 millis")
      assert.strictEqual(busyWaitsAsked(), asked, "one-way sends do not busy-wait")
      yield* settled
      const c = yield* make("c@127.0.0.1", { busyWait: 0 })
      const d = yield* make("d@127.0.0.1", { busyWait: 0 })
      const quiet = yield* d.spawn(Echo, undefined)
      asked = busyWaitsAsked()
      assert.strictEqual(yield* c.node.call(quiet, "hi", "10 seconds"), "hi")
      assert.strictEqual(busyWaitsAsked(), asked, "busyWait: 0 turns it off")
      const busyWaitOf = (env: typeof c) => (kernelOf(env.node).remote as unknown as { busyWaitMillis: number }).busyWaitMillis
      assert.strictEqual(busyWaitOf(c), 0)
      assert.strictEqual(busyWaitOf(yield* make("e@127.0.0.1")), 0.1)
    }), { timeout: 30_000 })

  it.scoped("a busyWait that is not a duration, or longer than 10 ms, fails the start with NetworkError", () =>
    Effect.gen(function*() {
      for (const busyWait of ["soon", "1 second", "11 millis", Infinity] as const) {
        const exit = yield* Effect.exit(Node.start("bad@127.0.0.1", { network: { cookie, busyWait: busyWait as Duration.DurationInput } }))
        assert.isTrue(Exit.isFailure(exit), `busyWait ${busyWait}`)
        const error = Exit.isFailure(exit) ? String(exit.cause) : ""
        assert.include(error, "network.busyWait")
      }
      // the bounds themselves are fine
      for (const busyWait of ["10 millis", 0] as const) {
        const node = yield* Node.start(`ok${busyWait === 0 ? 0 : 10}@127.0.0.1`, { network: { cookie, busyWait } })
        assert.isAbove(node.port, 0)
      }
    }))
})
