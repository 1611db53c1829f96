import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Process, Testing, Transport } from "../../src/index.js"
import { cluster, cookie } from "../fixtures/dist.js"
import { instrumented } from "../fixtures/transports.js"

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

/** Counts plain messages; answers "count" calls; sleeps `ms` on { slow: ms } calls. */
const Tally = Process.make({
  name: "Tally",
  init: () => Effect.succeed(0),
  handleMessage: (_msg: unknown, n) => Effect.succeed(n + 1),
  handleCall: (req: "count" | { readonly slow: number }, _from, n) =>
    req === "count" ? Effect.succeed(Process.reply(n, n)) : Effect.as(Effect.sleep(req.slow), Process.reply(n, n))
})

/** Sends every message it gets on to `to` (with `ctx.send`); spawned with importantDelivery. */
const Forward = Process.make({
  name: "Forward",
  init: (to: Process.Pid) => Effect.succeed({ to, failures: [] as Array<string> }),
  handleMessage: (msg: unknown, state, ctx) =>
    ctx.send(state.to, msg).pipe(
      Effect.catchAll((error) => Effect.sync(() => state.failures.push(error._tag))),
      Effect.as(state)
    ),
  handleCall: (_req: "failures", _from, state) => Effect.succeed(Process.reply(state.failures as ReadonlyArray<string>, state))
})

describe("important delivery", () => {
  it.scopedLive("sendImportant completes once the message is in the mailbox, local or remote, or says why not", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const remote = yield* b.spawn(Tally, undefined, { mailboxSize: 2 })
      const local = yield* a.spawn(Tally, undefined)
      yield* a.node.sendImportant(local, "one")
      yield* a.node.sendImportant(remote, "one")
      yield* a.node.sendImportant(Process.name("nobody", "b@127.0.0.1"), "x").pipe(
        Effect.flip,
        Effect.map((e) => assert.strictEqual(e._tag, "ProcessUnknown"))
      )
      yield* a.node.sendImportant(Process.name("nobody", "a@127.0.0.1"), "x").pipe(
        Effect.flip,
        Effect.map((e) => assert.strictEqual(e._tag, "ProcessUnknown"))
      )
      assert.strictEqual(yield* a.node.call(remote, "count"), 1)
      // a full remote mailbox: keep the process busy, fill its two slots, then one more
      const slow = Effect.fork(a.node.call(remote, { slow: 500 }, "5 seconds"))
      yield* slow
      yield* Effect.sleep("100 millis")
      yield* a.node.sendImportant(remote, "two")
      yield* a.node.sendImportant(remote, "three")
      const full = yield* Effect.flip(a.node.sendImportant(remote, "four"))
      assert.strictEqual(full._tag, "MailboxFull")
      // no connection: a node that does not exist
      const none = yield* Effect.flip(a.node.sendImportant(Process.name("x", "ghost@127.0.0.1"), "x"))
      assert.strictEqual(none._tag, "NoConnection")
    }), { timeout: 30_000 })

  it.scopedLive("an important send with no receipt in time fails with Timeout", () =>
    Effect.gen(function*() {
      const memory = Transport.memory()
      const b = yield* Testing.make({ name: "b@mem", log: { level: "Error" }, network: { cookie, transport: memory } })
      const { stats, transport } = instrumented(memory)
      const a = yield* Testing.make({
        name: "a@mem",
        log: { level: "Error" },
        network: { cookie, transport, routes: { "b@mem": b.node.address } }
      })
      const remote = yield* b.spawn(Tally, undefined)
      yield* a.node.sendImportant(remote, "warm-up")
      // a's connection holds its frames from now on: the message cannot arrive
      stats.busy = true
      const error = yield* Effect.flip(a.node.sendImportant(remote, "held", { timeout: "300 millis" }))
      assert.strictEqual(error._tag, "Timeout")
      assert.include(error.message, "300ms")
    }), { timeout: 30_000 })

  it.scopedLive("callImportant: a request that cannot be delivered fails at once; a slow handler's Timeout says delivered", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const remote = yield* b.spawn(Tally, undefined)
      assert.strictEqual(yield* a.node.callImportant(remote, "count"), 0)
      const slow = yield* Effect.flip(a.node.callImportant(remote, { slow: 1000 }, "300 millis"))
      assert.strictEqual(slow._tag, "Timeout")
      if (slow._tag === "Timeout") assert.strictEqual(slow.delivered, true)
      const plain = yield* Effect.flip(a.node.call(remote, { slow: 1000 }, "300 millis"))
      if (plain._tag === "Timeout") assert.strictEqual(plain.delivered, undefined)
      const gone = yield* Effect.flip(a.node.callImportant(Process.name("nobody", "b@127.0.0.1"), "count", "5 seconds"))
      assert.strictEqual(gone._tag, "ProcessUnknown")
    }), { timeout: 30_000 })

  it.scopedLive("importantDelivery makes every ctx.send of a process important", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const remote = yield* b.spawn(Tally, undefined)
      const gone = yield* b.spawn(Tally, undefined)
      yield* b.node.exit(gone, Process.ExitReason.kill)
      yield* b.node.awaitExit(gone)
      const important = yield* a.spawn(Forward, remote, { importantDelivery: true })
      const plain = yield* a.spawn(Forward, gone)
      const toDead = yield* a.spawn(Forward, gone, { importantDelivery: true })
      for (const forward of [important, plain, toDead]) yield* a.node.send(forward, "m")
      assert.deepStrictEqual(yield* a.node.call(important as unknown as Process.Ref<unknown, "failures">, "failures"), [])
      assert.deepStrictEqual(yield* a.node.call(plain as unknown as Process.Ref<unknown, "failures">, "failures"), [])
      assert.deepStrictEqual(yield* a.node.call(toDead as unknown as Process.Ref<unknown, "failures">, "failures"), ["ProcessUnknown"])
      assert.strictEqual(yield* a.node.call(remote, "count"), 1)
    }), { timeout: 30_000 })
})
