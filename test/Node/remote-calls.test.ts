import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Process } from "../../src/index.js"
import { cluster } from "../fixtures/dist.js"

/** Crashes on "crash" calls; answers others after `ms` milliseconds (a slow handler). */
const Fragile = Process.make({
  name: "Fragile",
  init: () => Effect.succeed(0),
  handleCall: (req: string, _from, n) =>
    req === "crash"
      ? Effect.fail("crashed while handling a call")
      : Effect.as(Effect.sleep("50 millis"), Process.reply(`${req} done`, n + 1))
})

describe("remote calls", () => {
  it.scopedLive("a callee that crashes fails its remote callers at once with ProcessExited, not Timeout", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const fragile = yield* b.spawn(Fragile, undefined)
      assert.strictEqual(yield* a.node.call(fragile, "warm-up", "30 seconds"), "warm-up done")
      const started = Date.now()
      // the crash, and a call queued behind it that the callee never handles
      const [crashed, queued] = yield* Effect.all([
        Effect.flip(a.node.call(fragile, "crash", "30 seconds")),
        Effect.flip(a.node.call(fragile, "after", "30 seconds"))
      ], { concurrency: 2 }).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "the callers waited" }))
      assert.strictEqual(crashed._tag, "ProcessExited")
      assert.strictEqual(queued._tag, "ProcessExited")
      if (crashed._tag === "ProcessExited") assert.strictEqual(crashed.reason._tag, "error")
      assert.isBelow(Date.now() - started, 10_000)
    }), { timeout: 30_000 })

  it.scopedLive("an answered remote call leaves nothing behind on the callee", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const fragile = yield* b.spawn(Fragile, undefined)
      for (let i = 0; i < 20; i++) assert.strictEqual(yield* a.node.call(fragile, `n${i}`, "30 seconds"), `n${i} done`)
      const { kernelOf } = yield* Effect.promise(() => import("../../src/Node/internal/kernel.js"))
      const proc = kernelOf(b.node).procs.get(fragile.id)!
      assert.strictEqual(proc.remoteCallers?.size ?? 0, 0)
    }), { timeout: 30_000 })
})
