import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema, TestClock } from "effect"
import { Process, Testing } from "../../src/index.js"
import { Counter, GetCount, Increment, Relay } from "./helpers.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"

class Slow extends Schema.TaggedRequest<Slow>()("Slow", { failure: Schema.String, success: Schema.String, payload: { id: Schema.Number } }) {}
class Answer extends Schema.TaggedClass<Answer>()("Answer", {}) {}

/** Keeps callers waiting (deferred reply) until told to answer, then answers all in order. */
const Deferring = Process.make({
  name: "Deferring",
  init: () => Effect.succeed([] as Array<readonly [Process.From, number]>),
  handleCall: (req: Slow, from, waiting) => Effect.succeed(Process.noReply([...waiting, [from, req.id] as const])),
  handleMessage: (_: Answer, waiting, ctx) =>
    Effect.forEach(waiting, ([from, id]) => id < 0 ? ctx.replyError(from, "negative") : ctx.reply(from, `done ${id}`)).pipe(
      Effect.as([])
    )
})

describe("messaging", () => {
  it.scoped("messages between a pair of processes arrive in order", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const relay = yield* env.spawn(Relay, env.probe)
      for (let i = 0; i < 1000; i++) yield* env.send(relay, i)
      for (let i = 0; i < 1000; i++) assert.strictEqual(yield* env.receive(), i)
    }))

  it.scoped("call returns the handler's reply, typed by the request", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const counter = yield* env.spawn(Counter, 1)
      yield* env.send(counter, new Increment({ by: 41 }))
      const n: number = yield* env.call(counter, new GetCount())
      assert.strictEqual(n, 42)
    }))

  it.scoped("a deferred reply answers later, from another handler; replyError fails the call", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const server = yield* env.spawn(Deferring, undefined)
      const a = yield* Effect.fork(env.call(server, new Slow({ id: 1 })))
      const b = yield* Effect.fork(Effect.either(env.call(server, new Slow({ id: -1 }))))
      yield* Effect.yieldNow()
      yield* env.send(server, new Answer())
      assert.strictEqual(yield* Fiber.join(a), "done 1")
      const failed = yield* Fiber.join(b)
      assert.isTrue(failed._tag === "Left" && failed.left === "negative")
    }))

  it.scoped("call to an unknown process fails with ProcessUnknown", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const ghost = new Process.Pid({ node: env.node.name, id: 999_999, creation: env.node.creation })
      const error = yield* Effect.flip(env.call(ghost, new GetCount()))
      assert.strictEqual(error._tag, "ProcessUnknown")
      const byName = yield* Effect.flip(env.call("nobody", new GetCount()))
      assert.strictEqual(byName._tag, "ProcessUnknown")
    }))

  it.scoped("send to a dead or unknown process is silent", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const ghost = new Process.Pid({ node: env.node.name, id: 999_999, creation: env.node.creation })
      yield* env.send(ghost, "hello")
      yield* env.send("nobody", "hello")
      const stale = new Process.Pid({ node: env.node.name, id: 1, creation: env.node.creation + 1 })
      yield* env.send(stale, "hello")
    }))

  it.scoped("call past its timeout fails with Timeout and the late reply is dropped", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const server = yield* env.spawn(Deferring, undefined)
      const caller = yield* Effect.fork(Effect.either(env.call(server, new Slow({ id: 7 }), "100 millis")))
      yield* TestClock.adjust("101 millis")
      const result = yield* Fiber.join(caller)
      assert.isTrue(result._tag === "Left" && typeof result.left === "object" && result.left._tag === "Timeout")
      yield* env.send(server, new Answer())
      // The late reply reaches nobody: no stray message and nothing pending.
      assert.strictEqual(kernelOf(env.node).pending.size, 0)
      yield* env.expectNoMessage("10 millis")
    }))

  it.scoped("a call interrupted by its caller leaves nothing behind; the late reply is ignored", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const server = yield* env.spawn(Deferring, undefined)
      for (const timeout of ["5 seconds", "infinity"] as const) {
        const caller = yield* Effect.fork(env.call(server, new Slow({ id: 1 }), timeout))
        yield* Effect.yieldNow()
        yield* Fiber.interrupt(caller)
        yield* env.send(server, new Answer())
        yield* env.send(env.probe, "sync")
        assert.strictEqual(yield* env.receive(), "sync")
        assert.strictEqual(kernelOf(env.node).pending.size, 0)
      }
    }))

  it.scoped("a call from inside a process blocks that process until the reply", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const counter = yield* env.spawn(Counter, 5)
      const Asker = Process.make({
        name: "Asker",
        init: () => Effect.succeed(0),
        handleMessage: (msg: string, n: number, ctx) =>
          msg === "ask"
            ? Effect.gen(function*() {
              const count = yield* ctx.call(counter, new GetCount())
              yield* ctx.send(env.probe, `count ${count}`)
              return n + 1
            })
            : Effect.as(ctx.send(env.probe, msg), n)
      })
      const asker = yield* env.spawn(Asker, undefined)
      yield* env.send(asker, "ask")
      yield* env.send(asker, "after")
      assert.strictEqual(yield* env.receive(), "count 5")
      assert.strictEqual(yield* env.receive(), "after")
    }))

  it.scoped("a call to a process that exits while handling it fails with ProcessExited", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Crasher = Process.make({
        name: "Crasher",
        init: () => Effect.void,
        handleCall: (_: string) => Effect.fail("no way")
      })
      const pid = yield* env.spawn(Crasher, undefined)
      const error = yield* Effect.flip(env.call(pid, "hello"))
      assert.strictEqual(error._tag, "ProcessExited")
    }))

  it.scoped("a call to a process without handleCall fails with CallNotHandled and the process lives", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const relay = yield* env.spawn(Relay, env.probe)
      const error = yield* Effect.flip(env.call(relay as Process.Pid, "hello"))
      assert.strictEqual(error._tag, "CallNotHandled")
      yield* env.send(relay, "still here")
      assert.strictEqual(yield* env.receive(), "still here")
    }))

  it.scoped("urgent messages overtake normal ones; log-lane messages come last", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Gate = Process.make({
        name: "Gate",
        init: () => Effect.succeed(false),
        handleMessage: (msg: string, open: boolean, ctx) => Effect.as(ctx.send(env.probe, msg), open)
      })
      // Queue everything before the process gets a turn.
      const pid = yield* env.spawn(Gate, undefined)
      yield* Effect.sync(() => {
        const k = kernelOf(env.node)
        k.send(undefined, pid, "log", "log")
        k.send(undefined, pid, "normal1")
        k.send(undefined, pid, "urgent", "urgent")
        k.send(undefined, pid, "normal2")
      })
      const got = [yield* env.receive(), yield* env.receive(), yield* env.receive(), yield* env.receive()]
      assert.deepStrictEqual(got, ["urgent", "normal1", "normal2", "log"])
    }))

  it.scoped("100k concurrent calls: none lost, none answered twice", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Echo = Process.make({
        name: "Echo",
        init: () => Effect.succeed(0),
        handleCall: (n: number, _from, handled: number) => Effect.succeed(Process.reply(n, handled + 1))
      })
      const echoes = yield* Effect.forEach([0, 1, 2, 3], () => env.spawn(Echo, undefined))
      const N = 100_000
      const results = yield* Effect.forEach(
        Array.from({ length: N }, (_, i) => i),
        (i) => env.call(echoes[i % 4]!, i),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(results.length, N)
      const seen = new Set(results)
      assert.strictEqual(seen.size, N)
      for (let i = 0; i < N; i += 997) assert.strictEqual(results[i], i)
      let handled = 0
      for (const e of echoes) handled += (yield* env.state<number>(e)).pipe((o) => (o._tag === "Some" ? o.value : 0))
      assert.strictEqual(handled, N)
      assert.strictEqual(kernelOf(env.node).pending.size, 0)
    }), { timeout: 60_000 })

  it.scoped("a handler's exit is the process's: Exit value check", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Relay, env.probe)
      yield* env.send(pid, "crash")
      const reason = yield* env.exitReason(pid)
      assert.strictEqual(reason._tag, "error")
      assert.isTrue(Exit.isExit(Exit.void))
    }))
})
