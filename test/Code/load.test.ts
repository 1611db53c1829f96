import { assert, describe, it } from "@effect/vitest"
import * as path from "node:path"
import { Effect } from "effect"
import { Code, Node, Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import { greeterSource, moduleDir, writeModule } from "./modules.js"

interface Greeting {
  readonly version: number
  readonly greeting: string
  readonly calls: number
  readonly from?: unknown
}

describe("Code.load", () => {
  it.scoped("loads the version of a module on disk now, not the cached one", () =>
    Effect.gen(function*() {
      const dir = yield* moduleDir
      const file = path.join(dir, "greeter.mjs")
      yield* writeModule(file, greeterSource(1, "hello"))
      const first = yield* Code.load(file)
      assert.strictEqual((first["Greeter"] as Process.Any).version, 1)
      assert.strictEqual(first["notABehaviour"], 42)
      yield* writeModule(file, greeterSource(2, "bonjour"))
      const second = yield* Code.load(file)
      assert.strictEqual((second["Greeter"] as Process.Any).version, 2)
      assert.notStrictEqual(first["Greeter"], second["Greeter"], "a new module instance, not the cached one")
    }))

  it.scoped("a loaded module upgrades a process started from the previous load", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const dir = yield* moduleDir
      const file = path.join(dir, "greeter.mjs")
      yield* writeModule(file, greeterSource(1, "hello"))
      const v1 = (yield* Code.load(file))["Greeter"] as Process.Any
      const pid = yield* env.spawn(v1, undefined)
      assert.deepStrictEqual(yield* env.call(pid as Process.Ref<never, string>, "hi"), { version: 1, greeting: "hello", calls: 1 })
      yield* writeModule(file, greeterSource(2, "bonjour"))
      const v2 = (yield* Code.load(file))["Greeter"] as Process.Any
      const report = yield* env.node.upgrade(v1, v2)
      assert.deepStrictEqual(report.upgraded.map(String), [pid.toString()])
      const after = (yield* env.call(pid as Process.Ref<never, string>, "hi")) as Greeting
      assert.deepStrictEqual(after, { version: 2, greeting: "bonjour", calls: 2, from: 1 })
    }))

  it.effect("a missing file or a module that does not parse fails with LoadFailed", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(Code.load("/nonexistent/rain/module.mjs"))
      assert.strictEqual(missing._tag, "LoadFailed")
      assert.include(missing.message, "no such file")
      const broken = yield* Effect.scoped(Effect.gen(function*() {
        const dir = yield* moduleDir
        const file = path.join(dir, "broken.mjs")
        yield* writeModule(file, "export const = ;\n")
        return yield* Effect.flip(Code.load(file))
      }))
      assert.strictEqual(broken._tag, "LoadFailed")
      assert.include(broken.message, "broken.mjs")
    }))

  it.scoped("bad input from plain JS: Code.load(42) and Code.watch(null) fail with LoadFailed saying what to give", () =>
    Effect.gen(function*() {
      const notString = yield* Effect.flip(Code.load(42 as any))
      assert.strictEqual(notString._tag, "LoadFailed")
      assert.include(notString.message, "the path is not a string")
      const env = yield* Testing.make()
      for (const options of [null, {}, { dir: 7 }]) {
        const error = yield* Effect.flip(Effect.provideService(Code.watch(options as any), Node.Node, env.node))
        assert.strictEqual(error._tag, "LoadFailed")
        assert.include(error.message, "Code.watch needs { dir: the directory of the modules to watch }")
      }
    }))
})
