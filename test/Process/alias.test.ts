import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"

type AliasCommand = "make" | "drop" | { readonly echo: string }

/** Hands out an alias, forwards what reaches it, and can drop it. */
const Aliased = Process.make({
  name: "Aliased",
  init: (probe: Process.Pid) => Effect.succeed({ probe, alias: undefined as Process.Alias | undefined }),
  handleMessage: (msg: AliasCommand, s, ctx) =>
    Effect.gen(function*() {
      if (msg === "make") {
        const alias = yield* ctx.alias()
        yield* ctx.send(s.probe, alias)
        return { ...s, alias }
      }
      if (msg === "drop") {
        yield* ctx.send(s.probe, yield* ctx.unalias(s.alias!))
        return s
      }
      yield* ctx.send(s.probe, msg.echo)
      return s
    })
})

describe("aliases", () => {
  it.scoped("messages to an alias reach the process until unalias; then they are dropped", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Aliased, env.probe)
      yield* env.send(pid, "make")
      const alias = (yield* env.receive()) as Process.Alias
      assert.instanceOf(alias, Process.Alias)
      yield* env.send(alias, { echo: "via alias" })
      assert.strictEqual(yield* env.receive(), "via alias")
      yield* env.send(pid, "drop")
      assert.strictEqual(yield* env.receive(), true)
      yield* env.send(alias, { echo: "too late" })
      yield* env.expectNoMessage("20 millis")
      assert.strictEqual(kernelOf(env.node).aliases.size, 0)
    }))
})
