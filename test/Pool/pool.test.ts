import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, TestClock } from "effect"
import type { Process as P } from "../../src/index.js"
import { Pool, Process } from "../../src/index.js"
import * as Testing from "../testing.js"

type Job = "block" | "tick" | "crash"
type Ask = "who" | "crash" | "block"

/**
 * A pool worker: "block" holds it until the latch opens, "crash" fails, "who" answers with the
 * worker's pid and the reply address it was given.
 */
const Worker = Process.make({
  name: "PoolWorker",
  init: (latch: Deferred.Deferred<void> | undefined) => Effect.succeed({ latch, handled: 0 }),
  handleMessage: (msg: Job, state) =>
    msg === "block"
      ? Effect.as(Deferred.await(state.latch!), state)
      : msg === "crash"
      ? Effect.fail("crashed on purpose")
      : Effect.succeed({ ...state, handled: state.handled + 1 }),
  handleCall: (req: Ask, from, state, ctx) =>
    req === "crash"
      ? Effect.fail("crashed in a call")
      : req === "block"
      ? Effect.as(Deferred.await(state.latch!), Process.reply("unblocked", state))
      : Effect.succeed(Process.reply({ worker: ctx.self, replyTo: from.to.toString() }, state))
})

const mainDepth = (env: Testing.TestEnv, pid: P.Pid) =>
  Effect.map(env.node.info(pid), (info) => Option.match(info, { onNone: () => -1, onSome: (i) => i.mailbox.main }))

/** Waits (real time, bounded) until `check` holds. */
const eventually = <E>(what: string, check: Effect.Effect<boolean, E>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      if (yield* check) return
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
    }
    return yield* Effect.dieMessage(`${what} did not happen within 2.5 s`)
  })

/** Sends "block" straight to each worker and waits until each is running it. */
const blockAll = (env: Testing.TestEnv, workers: ReadonlyArray<P.Pid>) =>
  Effect.forEach(workers, (pid) =>
    Effect.zipRight(
      env.send(pid, "block" as Job),
      eventually(
        "the worker to run its blocking message",
        Effect.map(env.node.info(pid), (i) => Option.getOrThrow(i).status === "waiting" && Option.getOrThrow(i).mailbox.main === 0)
      )
    ), { discard: true })

describe("Pool", () => {
  it.scoped("round-robin spreads calls over every worker, and each worker replies to the caller directly", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pool = yield* env.spawn(Pool.make({ worker: Worker, args: undefined, size: 3 }), undefined)
      const { workers } = yield* Pool.stats(env.node, pool)
      assert.strictEqual(workers.length, 3)
      const seen: Array<string> = []
      for (let i = 0; i < 6; i++) {
        const answer = (yield* Pool.call(env.node, pool, "who" as Ask)) as { worker: P.Pid; replyTo: string }
        seen.push(answer.worker.toString())
        // the worker got the caller's reply address, not the pool's
        assert.notStrictEqual(answer.replyTo, pool.toString())
      }
      assert.deepStrictEqual(seen, [...workers, ...workers].map(String))
      // no second hop: the pool took 6 calls and 1 stats request, and never a reply
      const info = Option.getOrThrow(yield* env.node.info(pool))
      assert.strictEqual(info.messagesIn, 7)
      const stats = yield* Pool.stats(env.node, pool)
      assert.strictEqual(stats.forwarded, 6)
    }))

  it.scoped("least-busy forwards to the worker with the shortest mailbox", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const latch = yield* Deferred.make<void>()
      const pool = yield* env.spawn(Pool.make({ worker: Worker, args: latch, size: 3, strategy: "least-busy" }), undefined)
      const [w0, w1, w2] = (yield* Pool.stats(env.node, pool)).workers
      // each worker busy with a blocked message; then 2, 0 and 1 messages queued behind it
      for (const [pid, queued] of [[w0!, 2], [w1!, 0], [w2!, 1]] as const) {
        yield* env.send(pid, "block" as Job)
        for (let i = 0; i < queued; i++) yield* env.send(pid, "tick" as Job)
      }
      yield* eventually("the workers to take their blocking message", Effect.map(mainDepth(env, w0!), (n) => n === 2))
      yield* env.send(pool, "tick" as Job)
      yield* eventually("the pool to forward", Effect.map(Pool.stats(env.node, pool), (s) => s.forwarded === 1))
      assert.deepStrictEqual([yield* mainDepth(env, w0!), yield* mainDepth(env, w1!), yield* mainDepth(env, w2!)], [2, 1, 1])
      // now w1 and w2 tie at 2 (1 queued + running): the next goes to the first of them after w1 in turn, w2
      yield* env.send(pool, "tick" as Job)
      yield* eventually("the pool to forward", Effect.map(Pool.stats(env.node, pool), (s) => s.forwarded === 2))
      assert.deepStrictEqual([yield* mainDepth(env, w0!), yield* mainDepth(env, w1!), yield* mainDepth(env, w2!)], [2, 1, 2])
      yield* Deferred.succeed(latch, undefined)
    }))

  it.scoped("a worker that crashes fails its caller at once and is restarted in its slot", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pool = yield* env.spawn(Pool.make({ worker: Worker, args: undefined, size: 2 }), undefined)
      const before = (yield* Pool.stats(env.node, pool)).workers
      const error = yield* Effect.flip(Pool.call(env.node, pool, "crash" as Ask, "infinity"))
      assert.strictEqual(error._tag, "ProcessExited")
      assert.strictEqual((yield* env.exitReason(before[0]!))._tag, "error")
      const after = yield* Pool.stats(env.node, pool)
      assert.strictEqual(after.restarts, 1)
      assert.strictEqual(after.size, 2)
      assert.notStrictEqual(after.workers[0]!.toString(), before[0]!.toString())
      assert.strictEqual(after.workers[1]!.toString(), before[1]!.toString())
      // the new worker serves
      for (let i = 0; i < 2; i++) yield* Pool.call(env.node, pool, "who" as Ask)
      assert.isTrue(Option.isSome(yield* env.node.info(after.workers[0]!)))
    }))

  it.scoped("more restarts than the intensity within the period stop the pool with shutdown, and its workers with it", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pool = yield* env.spawn(
        Pool.make({ worker: Worker, args: undefined, size: 2, intensity: 2, period: "10 seconds" }),
        undefined
      )
      const crash = Effect.flatMap(Effect.flip(Pool.call(env.node, pool, "crash" as Ask, "infinity")), (error) =>
        Effect.sync(() => assert.strictEqual(error._tag, "ProcessExited")))
      // two crashes, 11 s apart on the test clock: each restart alone in its period
      yield* crash
      yield* TestClock.adjust("11 seconds")
      yield* crash
      assert.strictEqual((yield* Pool.stats(env.node, pool)).restarts, 2)
      yield* TestClock.adjust("11 seconds")
      // three within the period: the pool gives up
      const workers = (yield* Pool.stats(env.node, pool)).workers
      yield* crash
      yield* crash
      yield* crash
      const reason = yield* env.exitReason(pool)
      assert.strictEqual(reason._tag, "shutdown")
      assert.strictEqual(workers.length, 2)
      yield* eventually(
        "the workers to go with the pool",
        Effect.map(env.node.processes, (ps) => ps.every((p) => p.behaviour !== "PoolWorker"))
      )
    }))

  it.scoped("resize grows and shrinks the pool; shrinking stops the least busy workers with shutdown", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const latch = yield* Deferred.make<void>()
      const pool = yield* env.spawn(Pool.make({ worker: Worker, args: latch, size: 2 }), undefined)
      assert.strictEqual(yield* Pool.resize(env.node, pool, 4), 4)
      const four = (yield* Pool.stats(env.node, pool)).workers
      assert.strictEqual(four.length, 4)
      // keep workers 0 and 2 busy: shrinking to 2 stops 1 and 3
      yield* env.send(four[0]!, "block" as Job)
      yield* env.send(four[2]!, "block" as Job)
      yield* env.send(four[2]!, "tick" as Job)
      assert.strictEqual(yield* Pool.resize(env.node, pool, 2), 2)
      const two = (yield* Pool.stats(env.node, pool)).workers.map(String)
      assert.deepStrictEqual(two, [four[0]!, four[2]!].map(String))
      assert.strictEqual((yield* env.exitReason(four[1]!))._tag, "shutdown")
      assert.strictEqual((yield* env.exitReason(four[3]!))._tag, "shutdown")
      // a shrunk worker is not restarted, and the pool lives on
      assert.strictEqual((yield* Pool.stats(env.node, pool)).restarts, 0)
      yield* Deferred.succeed(latch, undefined)
      yield* Pool.call(env.node, pool, "who" as Ask)
      const bad = yield* Effect.flip(Pool.resize(env.node, pool, 0))
      assert.strictEqual(bad._tag, "InvalidPoolOptions")
      assert.include(bad.message, "size")
      assert.strictEqual((yield* Pool.stats(env.node, pool)).size, 2)
    }))

  it.scoped("with every worker full, overflow \"reject\" fails calls with PoolBusy and drops messages", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const latch = yield* Deferred.make<void>()
      const pool = yield* env.spawn(
        Pool.make({ worker: Worker, args: latch, size: 2, workerMailboxSize: 1, overflow: "reject" }),
        undefined
      )
      const workers = (yield* Pool.stats(env.node, pool)).workers
      yield* blockAll(env, workers)
      // each worker runs a blocked message; one more each fills their mailboxes
      yield* env.send(pool, "tick" as Job)
      yield* env.send(pool, "tick" as Job)
      const busy = yield* Effect.flip(Pool.call(env.node, pool, "who" as Ask))
      assert.strictEqual(busy._tag, "PoolBusy")
      if (busy._tag === "PoolBusy") {
        assert.strictEqual(busy.workers, 2)
        assert.strictEqual(busy.waitedMillis, 0)
        assert.include(busy.message, "Pool.resize")
      }
      yield* env.send(pool, "tick" as Job)
      const stats = yield* Pool.stats(env.node, pool)
      assert.strictEqual(stats.rejected, 2)
      assert.strictEqual(stats.forwarded, 2)
      assert.deepStrictEqual([yield* mainDepth(env, workers[0]!), yield* mainDepth(env, workers[1]!)], [1, 1])
      // one warning for the saturated spell, not one per refusal
      const warnings = (yield* env.logs).filter((l) => l.message.includes("was full"))
      assert.strictEqual(warnings.length, 1)
      yield* Deferred.succeed(latch, undefined)
      yield* eventually(
        "the workers to drain",
        Effect.map(Effect.all(workers.map((pid) => mainDepth(env, pid))), (ds) => ds.every((d) => d === 0))
      )
      yield* Pool.call(env.node, pool, "who" as Ask)
    }))

  it.scoped("with every worker full, the pool waits up to overflow.wait for room, and its own bounded mailbox pushes back", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const latch = yield* Deferred.make<void>()
      const pool = yield* env.spawn(
        Pool.make({ worker: Worker, args: latch, size: 1, workerMailboxSize: 1, mailboxSize: 2, overflow: { wait: "2 seconds" } }),
        undefined
      )
      const workers = (yield* Pool.stats(env.node, pool)).workers
      yield* blockAll(env, workers)
      yield* env.send(pool, "tick" as Job)
      yield* eventually("the worker to be full", Effect.map(mainDepth(env, workers[0]!), (n) => n === 1))
      // a call waits, and so does the pool: its own bounded mailbox fills
      const waiting = yield* Effect.fork(Pool.call(env.node, pool, "who" as Ask, "infinity"))
      yield* eventually("the pool to wait", Effect.map(env.node.info(pool), (i) => Option.getOrThrow(i).mailbox.main === 0))
      yield* TestClock.adjust("1 second")
      yield* env.send(pool, "tick" as Job)
      yield* env.send(pool, "tick" as Job)
      const full = yield* Effect.flip(env.node.trySend(pool, "tick" as Job))
      assert.strictEqual(full._tag, "MailboxFull")
      // past the wait: PoolBusy, after 2 s of clock time
      yield* TestClock.adjust("1 second")
      const refused = yield* Effect.flip(Fiber.join(waiting))
      assert.strictEqual(refused._tag, "PoolBusy")
      if (refused._tag === "PoolBusy") assert.strictEqual(refused.waitedMillis, 2000)
      // the pool now waits with the next tick; room appears within its wait: everything queued gets through
      const answer = yield* Effect.fork(Pool.call(env.node, pool, "who" as Ask, "infinity"))
      yield* TestClock.adjust("1 second")
      yield* Deferred.succeed(latch, undefined)
      const who = (yield* Fiber.join(answer)) as { worker: P.Pid }
      assert.strictEqual(who.worker.toString(), workers[0]!.toString())
      const stats = yield* Pool.stats(env.node, pool)
      assert.strictEqual(stats.rejected, 1)
      assert.strictEqual(stats.forwarded, 4) // tick, tick, tick, who
    }))

  it.scoped("bad options fail the pool's init with InvalidPoolOptions", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      for (
        const options of [
          { size: 0 },
          { size: 2, workerMailboxSize: 1.5 },
          { size: 2, strategy: "fastest" as any },
          { size: 2, overflow: { wait: "forever" } as any },
          { size: 2, nodes: [] }
        ]
      ) {
        const error = yield* Effect.flip(env.spawn(Pool.make({ worker: Worker, args: undefined, ...options }), undefined))
        assert.strictEqual(error._tag, "InitFailed")
        assert.include(error.message, "InvalidPoolOptions")
      }
    }))

  it.scoped("options from plain JS that are not options (no worker, a string size, none) fail init, never the node", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ worker: null, args: undefined, size: 1 }, "Pool option worker is null: it must be a behaviour"],
        [{ worker: "Worker", args: undefined, size: 1 }, "Pool option worker is \"Worker\""],
        [{ worker: Worker, args: undefined, size: "3" }, "Pool option size is \"3\": it must be an integer"],
        [undefined, "Pool option options is undefined: it must be an object"]
      ]
      for (const [options, expected] of cases) {
        const error = yield* Effect.flip(env.spawn(Pool.make(options as Pool.Options<any, any, any, any, never, never>), undefined))
        assert.strictEqual(error._tag, "InitFailed")
        assert.include(error.message, expected)
        // one line: the cause's tag and message, not its stack trace
        assert.notInclude(error.message, "\n", error.message)
      }
      const pool = yield* env.spawn(Pool.make({ worker: Worker, args: undefined, size: 1 }), undefined)
      assert.strictEqual((yield* Pool.stats(env.node, pool)).size, 1)
    }))
})
