import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import { Node, Process, Registry } from "../../src/index.js"
import * as Testing from "../testing.js"
import { Counter, GetCount, Idle, Relay } from "../Process/helpers.js"

describe("registry", () => {
  it.scoped("spawn with a name registers it; whereis, send and call by name; released on exit", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Counter, 3, { name: "counter" })
      assert.deepStrictEqual(yield* env.node.whereis("counter"), Option.some(pid))
      assert.strictEqual(yield* env.call("counter", new GetCount()), 3)
      assert.strictEqual(yield* env.call(Process.name("counter", env.node.name), new GetCount()), 3)
      assert.deepStrictEqual(yield* env.node.registered, ["counter"])
      yield* env.node.exit(pid, Process.ExitReason.kill)
      yield* env.exitReason(pid)
      assert.deepStrictEqual(yield* env.node.whereis("counter"), Option.none())
      // the name is free again
      yield* env.spawn(Counter, 0, { name: "counter" })
    }))

  it.scoped("a taken name fails spawn with NameTaken and starts nothing", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const first = yield* env.spawn(Idle, undefined, { name: "only" })
      const before = (yield* env.node.processes).length
      const error = yield* Effect.flip(env.spawn(Idle, undefined, { name: "only" }))
      assert.strictEqual(error._tag, "NameTaken")
      assert.include(error.message, "only")
      assert.strictEqual((yield* env.node.processes).length, before)
      assert.deepStrictEqual(yield* env.node.whereis("only"), Option.some(first))
    }))

  it.scoped("concurrent spawns racing for one name: exactly one wins", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const results = yield* Effect.forEach(
        Array.from({ length: 200 }),
        () => Effect.either(env.spawn(Idle, undefined, { name: "race" })),
        { concurrency: "unbounded" }
      )
      const winners = results.filter(Either.isRight)
      assert.strictEqual(winners.length, 1)
      assert.deepStrictEqual([...new Set(results.filter(Either.isLeft).map((e) => e.left._tag))], ["NameTaken"])
      assert.deepStrictEqual(yield* env.node.whereis("race"), Option.some(winners[0]!.right))
    }))

  it.scoped("ctx.register / unregister from inside a process; one name per process", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Registrar = Process.make({
        name: "Registrar",
        init: () => Effect.void,
        handleMessage: (msg: { register?: string; unregister?: true }, s, ctx) =>
          (msg.register
            ? ctx.register(msg.register).pipe(Effect.either, Effect.flatMap((r) => ctx.send(env.probe, Either.isLeft(r) ? r.left._tag : "ok")))
            : Effect.zipRight(ctx.unregister(), ctx.send(env.probe, "unregistered"))).pipe(Effect.as(s))
      })
      const a = yield* env.spawn(Registrar, undefined)
      const b = yield* env.spawn(Registrar, undefined)
      yield* env.send(a, { register: "x" })
      assert.strictEqual(yield* env.receive(), "ok")
      yield* env.send(b, { register: "x" })
      assert.strictEqual(yield* env.receive(), "NameTaken")
      yield* env.send(a, { register: "y" })
      assert.strictEqual(yield* env.receive(), "AlreadyRegistered")
      yield* env.send(a, { unregister: true })
      assert.strictEqual(yield* env.receive(), "unregistered")
      yield* env.send(b, { register: "x" })
      assert.strictEqual(yield* env.receive(), "ok")
    }))

  it.scoped("Registry functions work on the node in context", () =>
    Effect.gen(function*() {
      const node = yield* Node.Node
      const pid = yield* node.spawn(Relay, undefined)
      yield* Registry.register("relay", pid)
      assert.deepStrictEqual(yield* Registry.whereis("relay"), Option.some(pid))
      assert.deepStrictEqual(yield* Registry.registered, ["relay"])
      assert.isTrue(yield* Registry.unregister("relay"))
      assert.deepStrictEqual(yield* Registry.whereis("relay"), Option.none())
    }).pipe(Effect.provide(Node.layer("reg@localhost"))))
})
