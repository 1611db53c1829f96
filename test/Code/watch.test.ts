import { assert, describe, it } from "@effect/vitest"
import * as path from "node:path"
import { Effect, Option, Queue } from "effect"
import { Code, Node, Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import { greeterSource, moduleDir, writeModule } from "./modules.js"

/** The next reload event, waiting at most 10 s of real time. */
const nextReload = (events: Queue.Queue<Code.ReloadEvent>) =>
  Queue.take(events).pipe(
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "no reload within 10 s after the file was written" })
  )

describe("Code.watch", () => {
  it.scopedLive("upgrades a live process after its module file is edited, and logs it", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const dir = yield* moduleDir
      const file = path.join(dir, "greeter.mjs")
      yield* writeModule(file, greeterSource(1, "hello"))
      const v1 = (yield* Code.load(file))["Greeter"] as Process.Any
      const pid = yield* env.spawn(v1, undefined)
      assert.deepStrictEqual(yield* env.call(pid as Process.Ref<never, string>, "hi"), { version: 1, greeting: "hello", calls: 1 })
      const events = yield* Queue.unbounded<Code.ReloadEvent>()
      yield* Code.watch({ dir, debounce: "50 millis", onReload: (event) => Queue.offer(events, event) }).pipe(
        Effect.provideService(Node.Node, env.node)
      )
      yield* writeModule(file, greeterSource(2, "bonjour"))
      const event = yield* nextReload(events)
      assert.strictEqual(event.path, file)
      assert.isUndefined(event.error)
      assert.deepStrictEqual(event.upgrades.map((u) => u.export), ["Greeter"], "only behaviours are upgraded")
      const result = event.upgrades[0]!.result
      assert.isTrue("upgraded" in result, JSON.stringify(result))
      assert.deepStrictEqual(yield* env.call(pid as Process.Ref<never, string>, "hi"), { version: 2, greeting: "bonjour", calls: 2, from: 1 })
      const logs = yield* env.logs
      assert.isTrue(logs.some((l) => /code watch: greeter\.mjs reloaded: Greeter \(Greeter\) upgraded 1 process/.test(l.message)))

      // A module that no longer parses: logged, the process keeps running the last good code.
      yield* writeModule(file, "export const Greeter = {\n")
      const broken = yield* nextReload(events)
      assert.strictEqual(broken.error?._tag, "LoadFailed")
      assert.deepStrictEqual(yield* env.call(pid as Process.Ref<never, string>, "hi"), { version: 2, greeting: "bonjour", calls: 3, from: 1 })

      // A failing codeChange: the process keeps its code and state.
      yield* writeModule(file, greeterSource(3, "hola", { failMigration: true }))
      const refused = yield* nextReload(events)
      assert.strictEqual((refused.upgrades[0]!.result as { _tag?: string })._tag, "UpgradeFailed")
      assert.deepStrictEqual(yield* env.call(pid as Process.Ref<never, string>, "hi"), { version: 2, greeting: "bonjour", calls: 4, from: 1 })
      assert.isTrue(Option.isSome(yield* env.node.info(pid)))
    }), { timeout: 40_000 })

  it.scoped("watching something that is not a directory fails with LoadFailed", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const error = yield* Effect.flip(Code.watch({ dir: "/nonexistent/rain" }).pipe(Effect.provideService(Node.Node, env.node)))
      assert.strictEqual(error._tag, "LoadFailed")
      assert.include(error.message, "not a directory")
    }))
})
