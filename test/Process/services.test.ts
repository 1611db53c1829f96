import { assert, describe, it } from "@effect/vitest"
import { Context, Effect } from "effect"
import { Process } from "../../src/index.js"
import * as Testing from "../testing.js"

class Greeter extends Context.Tag("test/Greeter")<Greeter, { readonly greet: (name: string) => string }>() {}

describe("services", () => {
  it.scoped("handlers get the services of the Effect that spawned them; children inherit them", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Child = Process.make({
        name: "Child",
        init: (_: void, ctx) =>
          Effect.gen(function*() {
            const greeter = yield* Greeter
            yield* ctx.send(env.probe, greeter.greet("child"))
          })
      })
      const Host = Process.make({
        name: "Host",
        init: () => Effect.void,
        handleMessage: (name: string, s, ctx) =>
          Effect.gen(function*() {
            const greeter = yield* Greeter
            yield* ctx.send(env.probe, greeter.greet(name))
            if (name === "spawn") yield* ctx.spawn(Child, undefined)
            return s
          })
      })
      const host = yield* env.spawn(Host, undefined).pipe(
        Effect.provideService(Greeter, { greet: (name) => `hello ${name}` })
      )
      yield* env.send(host, "world")
      assert.strictEqual(yield* env.receive(), "hello world")
      yield* env.send(host, "spawn")
      assert.strictEqual(yield* env.receive(), "hello spawn")
      assert.strictEqual(yield* env.receive(), "hello child")
    }))
})
