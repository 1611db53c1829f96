import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import type { Process as P } from "../../src/index.js"
import { Process, Supervisor } from "../../src/index.js"
import * as Testing from "../testing.js"

const Child = Process.make({
  name: "Child",
  init: () => Effect.void,
  handleMessage: (_: "crash") => Effect.fail("crash on purpose"),
  handleCall: (_: "ping", _from, s) => Effect.succeed(Process.reply("pong", s))
})

describe("fairness", () => {
  it.live("a handler that retries a failing call in a loop does not starve the supervisor it waits on", () =>
    Effect.scoped(Effect.gen(function*() {
      const env = yield* Testing.make()
      yield* Supervisor.start(
        env.node,
        Supervisor.oneForOne({ intensity: 100, period: "1 hour" }).pipe(
          Supervisor.child({ id: "child", behaviour: Child, args: undefined, name: "child" })
        )
      )
      const child = "child" as unknown as P.Ref<"crash", "ping">
      const done = yield* Deferred.make<number>()
      const Tester = Process.make({
        name: "Tester",
        init: () => Effect.void,
        handleMessage: Effect.fnUntraced(function*(_: "go", s: void, ctx: P.Context<"go">) {
          let answered = 0
          for (let i = 0; i < 20; i++) {
            yield* ctx.send(child, "crash")
            const answer = yield* ctx.call(child, "ping").pipe(
              Effect.retry({ while: (e) => e._tag === "ProcessExited" || e._tag === "ProcessUnknown" })
            )
            if (answer === "pong") answered++
          }
          yield* Deferred.succeed(done, answered)
          return s
        })
      })
      yield* env.send(yield* env.spawn(Tester, undefined), "go")
      assert.strictEqual(yield* Deferred.await(done).pipe(Effect.timeout("10 seconds")), 20)
    })))

  it.live("a handler that loops forever (yielding) leaves the node responsive", () =>
    Effect.scoped(Effect.gen(function*() {
      const env = yield* Testing.make()
      const Spinner = Process.make({
        name: "Spinner",
        init: () => Effect.void,
        handleMessage: (_: "spin", s) => Effect.forever(Effect.yieldNow()).pipe(Effect.as(s))
      })
      const spinner = yield* env.spawn(Spinner, undefined)
      yield* env.send(spinner, "spin")
      const Echo = Process.make({
        name: "Echo",
        init: () => Effect.void,
        handleCall: (n: number, _from, s) => Effect.succeed(Process.reply(n, s))
      })
      const echo = yield* env.spawn(Echo, undefined)
      for (let i = 0; i < 100; i++) assert.strictEqual(yield* env.call(echo, i), i)
      yield* Effect.sleep("20 millis") // real timers still fire
      yield* env.node.exit(spinner, Process.ExitReason.kill)
      assert.strictEqual((yield* env.exitReason(spinner))._tag, "killed")
    })))
})
