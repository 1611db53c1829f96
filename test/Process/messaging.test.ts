import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Either, Exit, Fiber, Option, Schema, TestClock } from "effect"
import { Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import { Counter, GetCount, Increment, Relay, within } from "./helpers.js"
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
      assert.strictEqual(yield* within(Fiber.join(a), "the deferred reply", 5), "done 1")
      assert.deepStrictEqual(yield* within(Fiber.join(b), "the deferred error", 5), Either.left("negative"))
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

  it.scoped("send to a dead, unknown or stale process is silent: it succeeds and reaches no one", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const dead = yield* env.spawn(Relay, env.probe, { name: "gone" })
      yield* env.send(dead, "stop")
      assert.strictEqual((yield* env.exitReason(dead))._tag, "normal")
      const ghost = new Process.Pid({ node: env.node.name, id: 999_999, creation: env.node.creation })
      // a live relay, and a pid with its id from another incarnation of the node
      const live = yield* env.spawn(Relay, env.probe)
      const stale = new Process.Pid({ node: env.node.name, id: live.id, creation: env.node.creation + 1 })
      for (const to of [dead, ghost, "gone", "nobody", stale] as const) {
        assert.isTrue(Exit.isSuccess(yield* Effect.exit(env.send(to, "lost"))), `send to ${String(to)} succeeds`)
        assert.isTrue(Exit.isSuccess(yield* Effect.exit(env.node.trySend(to, "lost"))), `trySend to ${String(to)} succeeds`)
      }
      yield* env.expectNoMessage("20 millis")
      // the live relay got nothing meant for the stale pid, and still works
      yield* env.send(live, "live")
      assert.strictEqual(yield* env.receive(), "live")
      assert.strictEqual(Option.getOrThrow(yield* env.node.info(live)).messagesIn, 1)
    }))

  it.scoped("call past its timeout fails with Timeout and the late reply is dropped", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const server = yield* env.spawn(Deferring, undefined)
      // The caller is a process that forwards to the probe the outcome of its call and anything
      // else it gets, so a late reply that leaked into its mailbox would show.
      const Caller = Process.make({
        name: "Caller",
        init: () => Effect.void,
        handleMessage: (msg: unknown, s, ctx) =>
          msg === "call"
            ? ctx.call(server, new Slow({ id: 7 }), "100 millis").pipe(
              Effect.either,
              Effect.flatMap((r) => ctx.send(env.probe, Either.isLeft(r) ? `failed ${typeof r.left === "string" ? r.left : r.left._tag}` : `got ${r.right}`)),
              Effect.as(s)
            )
            : Effect.as(ctx.send(env.probe, msg), s),
        handleInfo: (info, s, ctx) => Effect.as(ctx.send(env.probe, info), s)
      })
      const caller = yield* env.spawn(Caller, undefined)
      yield* env.send(caller, "call")
      yield* Effect.yieldNow()
      assert.strictEqual(kernelOf(env.node).pending.size, 1)
      yield* TestClock.adjust("101 millis")
      assert.strictEqual(yield* env.receive(), "failed Timeout")
      assert.strictEqual(kernelOf(env.node).pending.size, 0)
      yield* env.send(server, new Answer())
      yield* env.send(env.probe, "sync") // the probe runs after the server in the same drain
      assert.strictEqual(yield* env.receive(), "sync")
      // the server did answer (its waiting list is empty), and the answer reached no one
      assert.deepStrictEqual(yield* env.state(server), Option.some([]))
      yield* env.expectNoMessage("20 millis")
      assert.strictEqual(kernelOf(env.node).pending.size, 0)
      // the caller is alive and calls again
      yield* env.send(caller, "call")
      yield* Effect.yieldNow()
      yield* env.send(server, new Answer())
      assert.strictEqual(yield* env.receive(), "got done 7")
    }))

  it.scoped("a call without a timeout fails with Timeout after the default 5 s", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const server = yield* env.spawn(Deferring, undefined)
      const caller = yield* Effect.fork(Effect.either(env.call(server, new Slow({ id: 1 }))))
      yield* Effect.yieldNow()
      yield* TestClock.adjust("4999 millis")
      assert.isNull(caller.unsafePoll(), "still waiting at 4.999 s")
      yield* TestClock.adjust("1 millis")
      const result = yield* within(Fiber.join(caller), "the call to time out", 5)
      assert.isTrue(Either.isLeft(result), "the call failed")
      assert.strictEqual((result as Either.Left<{ readonly _tag: string }, string>).left._tag, "Timeout")
      assert.strictEqual(kernelOf(env.node).pending.size, 0)
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

  it.scoped("lanes: urgent, then system (exit signals), then main, then log, through the public send", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const gate = yield* Deferred.make<void>()
      const Gate = Process.make({
        name: "Gate",
        init: () => Effect.void,
        handleMessage: (msg: string, s, ctx) =>
          msg === "hold" ? Deferred.await(gate).pipe(Effect.as(s)) : Effect.as(ctx.send(env.probe, msg), s),
        handleInfo: (info, s, ctx) => Effect.as(ctx.send(env.probe, info._tag), s)
      })
      const pid = yield* env.spawn(Gate, undefined, { trapExit: true })
      yield* env.send(pid, "hold")
      yield* Effect.yieldNow()
      // everything below waits in the mailbox while the gate is held
      const Sender = Process.make({
        name: "Sender",
        init: () => Effect.void,
        handleMessage: (_: "go", s, ctx) =>
          Effect.all([ctx.send(pid, "ctx log", "log"), ctx.send(pid, "ctx main"), ctx.send(pid, "ctx urgent", "urgent")]).pipe(
            Effect.zipRight(ctx.send(env.probe, "queued")),
            Effect.as(s)
          )
      })
      yield* env.node.send(pid, "log", "log")
      yield* env.node.send(pid, "main 1")
      yield* env.node.trySend(pid, "urgent 1", "urgent")
      yield* env.node.send(pid, "main 2", "normal")
      yield* env.node.send(pid, "urgent 2", "urgent")
      yield* env.send(yield* env.spawn(Sender, undefined), "go")
      assert.strictEqual(yield* env.receive(), "queued")
      const linked = yield* env.spawn(Relay, undefined)
      yield* env.send(linked, { link: pid })
      yield* env.send(linked, "crash")
      yield* env.exitReason(linked)
      yield* Deferred.succeed(gate, undefined)
      const got: Array<unknown> = []
      for (let i = 0; i < 9; i++) got.push(yield* env.receive())
      assert.deepStrictEqual(got, ["urgent 1", "urgent 2", "ctx urgent", "Exit", "main 1", "main 2", "ctx main", "log", "ctx log"])
    }))

  // The 100k version is a benchmark: bench/workloads.ts local.call.conc100k_per_s.
  it.scoped("10k concurrent calls: none lost, none answered twice", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Echo = Process.make({
        name: "Echo",
        init: () => Effect.succeed(0),
        handleCall: (n: number, _from, handled: number) => Effect.succeed(Process.reply(n, handled + 1))
      })
      const echoes = yield* Effect.forEach([0, 1, 2, 3], () => env.spawn(Echo, undefined))
      const N = 10_000
      const results = yield* Effect.forEach(
        Array.from({ length: N }, (_, i) => i),
        (i) => env.call(echoes[i % 4]!, i),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(results.length, N)
      const seen = new Set(results)
      assert.strictEqual(seen.size, N)
      for (let i = 0; i < N; i++) if (results[i] !== i) assert.fail(`caller ${i} got ${results[i]}`)
      let handled = 0
      for (const e of echoes) handled += (yield* env.state<number>(e)).pipe((o) => (o._tag === "Some" ? o.value : 0))
      assert.strictEqual(handled, N)
      assert.strictEqual(kernelOf(env.node).pending.size, 0)
    }))

  it.scoped("a handler's failure is its process's exit reason, with the failure in its cause", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const failing = yield* env.spawn(Relay, env.probe)
      yield* env.send(failing, "crash")
      const failed = yield* env.exitReason(failing)
      assert.strictEqual(failed._tag, "error")
      if (failed._tag === "error") assert.deepStrictEqual(Cause.failureOption(failed.cause), Option.some("crashed on purpose"))
      const dying = yield* env.spawn(Relay, env.probe)
      yield* env.send(dying, "die")
      const died = yield* env.exitReason(dying)
      assert.strictEqual(died._tag, "error")
      if (died._tag === "error") {
        const defect = Cause.dieOption(died.cause)
        assert.isTrue(Option.isSome(defect), "a defect is kept as a defect")
        assert.include(String((defect as Option.Some<unknown>).value), "defect on purpose")
      }
    }))
})
