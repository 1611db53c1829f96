import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Option, TestClock } from "effect"
import { Application, Node, Pool, Process, Supervisor } from "../../src/index.js"
import { cluster } from "../fixtures/dist.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"
import * as Testing from "../testing.js"
import type { Counts } from "./fixtures.js"
import { CounterV1, CounterV2, Producer } from "./fixtures.js"

const get = (env: Testing.TestEnv, pid: Process.Pid) => env.call(pid as Process.Ref<never, "get">, "get") as Effect.Effect<Counts, unknown>

/** Polls (real time, bounded) until `check` holds on the process's raw state. */
const until = <A>(env: Testing.TestEnv, pid: Process.Pid, check: (state: A) => boolean, what: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 2000; i++) {
      const state = yield* env.state<A>(pid)
      if (Option.isSome(state) && check(state.value)) return state.value
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
    }
    return yield* Effect.dieMessage(`timed out (10 s) waiting for ${what}`)
  })

describe("node.upgrade", () => {
  it.scopedLive(
    "a counter fed 100k local and 30k remote messages, upgraded mid-stream to a new state shape, counts each exactly once",
    () =>
      Effect.gen(function*() {
        const { make } = yield* cluster
        const a = yield* make("a@127.0.0.1")
        const b = yield* make("b@127.0.0.1")
        const counter = yield* a.spawn(CounterV1, "c1")
        yield* a.monitor(counter)
        const local = yield* a.spawn(Producer, { to: counter, src: "local", total: 100_000, pauseAt: 50_000, report: a.probe })
        // The remote stream: from a process on node b, over TCP, reporting to a's probe.
        const remote = yield* b.spawn(Producer, { to: counter, src: "remote", total: 30_000, pauseAt: 15_000, report: a.probe })
        yield* a.send(local, "go")
        yield* b.send(remote, "go")
        // Both streams half sent, and the counter into them on v1...
        const half = [yield* a.receive("10 seconds"), yield* a.receive("10 seconds")].sort()
        assert.deepStrictEqual(half, ["local half", "remote half"])
        yield* until<readonly [string, number, number]>(
          a,
          counter,
          ([, l, r]) => l >= 5_000 && r >= 1,
          "the counter to handle 5,000 local and some remote messages"
        )
        // ...then the second halves start streaming (the remote one over the wire) as the upgrade runs.
        yield* a.send(local, "go")
        yield* b.send(remote, "go")
        const report = yield* a.node.upgrade(CounterV1, CounterV2, { note: "v2" })
        assert.deepStrictEqual(report.upgraded.map(String), [counter.toString()])
        assert.deepStrictEqual(report.behaviours, ["Counter v1 -> Counter v2"])
        const done = [yield* a.receive("10 seconds"), yield* a.receive("10 seconds")].sort()
        assert.deepStrictEqual(done, ["local done", "remote done"])
        const counts = yield* get(a, counter)
        assert.strictEqual(counts.version, 2)
        assert.strictEqual(counts.local, 100_000, "every local message handled once, in order")
        assert.strictEqual(counts.remote, 30_000, "every remote message handled once, in order")
        assert.isAtLeast(counts.byV2, 65_000, "the new code handled the messages sent after the upgrade began")
        assert.isAtMost(counts.byV2, 125_000, "the old code handled those before it")
        // b was not disturbed: still connected, its producer ended normally.
        assert.deepStrictEqual(yield* b.node.nodes, ["a@127.0.0.1"])
        yield* a.expectNoMessage("50 millis") // no Down: the counter never crashed
      }),
    { timeout: 60_000 }
  )

  it.scoped("a failing codeChange leaves every process on the old code and state, and fails listing it", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const ids = ["ok1", "bad", "ok2"]
      const pids = yield* Effect.forEach(ids, (id) => env.spawn(CounterV1, id))
      for (const pid of pids) yield* env.send(pid, { src: "local", seq: 1 })
      const error = yield* Effect.flip(env.node.upgrade("Counter", CounterV2, { refuse: ["bad"] }))
      assert.strictEqual(error._tag, "UpgradeFailed")
      if (error._tag !== "UpgradeFailed") return
      assert.deepStrictEqual(error.failures.map((f) => f.pid), [pids[1]!.toString()])
      assert.include(error.failures[0]!.reason, "refusing bad")
      assert.strictEqual(error.rolledBack, 2, "the two successful migrations are rolled back")
      assert.include(error.message, "No process was upgraded")
      for (const [i, pid] of pids.entries()) {
        yield* env.send(pid, { src: "local", seq: 2 })
        const counts = yield* get(env, pid)
        assert.deepStrictEqual(counts, { version: 1, id: ids[i]!, local: 2, remote: 0, byV2: 0 }, `${ids[i]} still runs v1`)
      }
      const info = yield* env.node.info(pids[0]!)
      assert.strictEqual(Option.getOrThrow(info).status, "idle", "resumed")
      // Upgrading again without the refusal works: nothing was left half-done.
      const report = yield* env.node.upgrade(CounterV1, CounterV2)
      assert.strictEqual(report.upgraded.length, 3)
      for (const pid of pids) assert.strictEqual((yield* get(env, pid)).version, 2)
    }))

  it.scoped("a process busy in a long handler fails the upgrade after the timeout; the others are rolled back", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const idle = yield* env.spawn(CounterV1, "idle")
      const busy = yield* env.spawn(CounterV1, "busy")
      yield* env.send(busy, "block")
      const upgrading = yield* Effect.fork(env.node.upgrade(CounterV1, CounterV2, undefined, { timeout: "2 seconds" }))
      yield* TestClock.adjust("2 seconds")
      const error = yield* Effect.flip(Fiber.join(upgrading))
      assert.strictEqual(error._tag, "UpgradeFailed")
      if (error._tag !== "UpgradeFailed") return
      assert.deepStrictEqual(error.failures.map((f) => f.pid), [busy.toString()])
      assert.include(error.failures[0]!.reason, "still in a handler after 2000ms")
      yield* env.send(idle, { src: "local", seq: 1 })
      assert.deepStrictEqual(yield* get(env, idle), { version: 1, id: "idle", local: 1, remote: 0, byV2: 0 })
    }))

  it.scoped("a process whose handler returns within the timeout is upgraded after it", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Slow = Process.make({
        name: "Slow",
        version: 1,
        init: () => Effect.succeed(0),
        handleMessage: (n: number, sum: number) => Effect.as(Effect.sleep("1 second"), sum + n)
      })
      const Slow2 = Process.make({
        name: "Slow",
        version: 2,
        init: () => Effect.succeed({ sum: 0 }),
        handleMessage: (n: number, state: { readonly sum: number }) => Effect.succeed({ sum: state.sum + 10 * n }),
        codeChange: (_old, sum: number) => Effect.succeed({ sum })
      })
      const pid = yield* env.spawn(Slow, undefined)
      yield* env.send(pid, 1) // v1 sleeps 1 s on it
      yield* env.send(pid, 2) // queued: handled by v2
      const upgrading = yield* Effect.fork(env.node.upgrade(Slow, Slow2))
      yield* TestClock.adjust("1 second")
      const report = yield* Fiber.join(upgrading)
      assert.strictEqual(report.upgraded.length, 1)
      const state = yield* until<{ readonly sum: number }>(env, pid, (s) => s.sum === 21, "sum 1 + 10 * 2")
      assert.deepStrictEqual(state, { sum: 21 })
    }))

  it.scoped("bad input: a new behaviour without init fails with InvalidBehaviour", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const error = yield* Effect.flip(env.node.upgrade("Counter", { name: "Counter" } as any))
      assert.strictEqual(error._tag, "InvalidBehaviour")
      assert.include(error.message, "no init function")
    }))

  it.scoped("bad input from plain JS: a timeout that is not a duration fails with UpgradeFailed; nothing is upgraded", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(CounterV1, "a")
      const error = yield* Effect.flip(env.node.upgrade(CounterV1, CounterV2, undefined, { timeout: "soon" as any }))
      assert.strictEqual(error._tag, "UpgradeFailed")
      assert.include(error.message, `timeout is "soon", not a duration such as "5 seconds"`)
      assert.strictEqual((yield* env.node.info(pid)).pipe(Option.map((i) => i.behaviour), Option.getOrUndefined), "Counter")
      // still the old code: the same upgrade with a real timeout goes through
      const report = yield* env.node.upgrade(CounterV1, CounterV2, undefined, { timeout: "5 seconds" })
      assert.strictEqual(report.upgraded.length, 1)
    }))

  it.scoped("Node.upgrade (ctx-free) from inside a process of that behaviour fails for it instead of waiting for itself", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Upgrader = Process.make({
        name: "Upgrader",
        init: () => Effect.succeed(0),
        handleCall: (_: "upgrade", _from, n: number) =>
          Node.upgrade("Upgrader", { name: "Upgrader", init: () => Effect.succeed(1) }).pipe(
            Effect.provideService(Node.Node, env.node),
            Effect.either,
            Effect.map((result) => Process.reply(result._tag === "Left" ? result.left.message : "upgraded", n))
          )
      })
      const pid = yield* env.spawn(Upgrader, undefined)
      const answer = yield* env.call(pid, "upgrade")
      assert.include(answer as string, "it is the process asking for the upgrade")
    }))
})

describe("supervisors and applications", () => {
  it.scoped("a supervisor restarts an upgraded child with the new code", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const spec = Supervisor.oneForOne({ intensity: 5 }).pipe(
        Supervisor.child({ id: "counter", behaviour: CounterV1, args: "sup" })
      )
      const sup = yield* Supervisor.start(env.node, spec)
      const before = (yield* Supervisor.whichChildren(env.node, sup))[0]!.pid!
      const report = yield* env.node.upgrade(CounterV1, CounterV2)
      assert.strictEqual(report.supervisors, 1)
      assert.strictEqual((yield* get(env, before)).version, 2, "the running child is upgraded in place")
      yield* env.monitor(before)
      yield* env.send(before, "crash")
      yield* env.receive() // its Down
      const after = yield* until<unknown>(env, sup, () => true, "the supervisor").pipe(
        Effect.zipRight(Supervisor.whichChildren(env.node, sup)),
        Effect.map((children) => children[0]!.pid!)
      )
      assert.notStrictEqual(after.toString(), before.toString())
      assert.deepStrictEqual(yield* get(env, after), { version: 2, id: "sup", local: 0, remote: 0, byV2: 0 })
    }))

  it.scoped("a pool's restarted and added workers run the new code after an upgrade", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pool = yield* env.node.spawn(Pool.make({ worker: CounterV1, args: "pooled", size: 1 }), undefined)
      const before = (yield* Pool.stats(env.node, pool)).workers[0]!
      const report = yield* env.node.upgrade(CounterV1, CounterV2)
      assert.strictEqual(report.supervisors, 1, "the pool counts among those that now start the new code")
      assert.strictEqual((yield* get(env, before)).version, 2, "the running worker is upgraded in place")
      yield* env.monitor(before)
      yield* env.send(before, "crash")
      yield* env.receive() // its Down
      const after = yield* until<unknown>(env, pool, () => true, "the pool").pipe(
        Effect.zipRight(Pool.stats(env.node, pool)),
        Effect.map((stats) => stats.workers[0]!)
      )
      assert.notStrictEqual(after.toString(), before.toString())
      assert.strictEqual((yield* get(env, after)).version, 2, "the restarted worker runs the new code")
      yield* Pool.resize(env.node, pool, 2)
      const added = (yield* Pool.stats(env.node, pool)).workers[1]!
      assert.strictEqual((yield* get(env, added)).version, 2, "an added worker runs the new code")
    }))

  it.scoped("a supervisor nested in another is restarted with the new code too (its spec in the parent's is rewritten)", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const inner = Supervisor.oneForOne().pipe(Supervisor.child({ id: "counter", behaviour: CounterV1, args: "nested" }))
      const outer = Supervisor.oneForOne({ intensity: 5 }).pipe(
        Supervisor.child({ id: "inner", behaviour: Supervisor.behaviour(inner), args: undefined, type: "supervisor" })
      )
      const top = yield* Supervisor.start(env.node, outer)
      const innerPid = (yield* Supervisor.whichChildren(env.node, top))[0]!.pid!
      const report = yield* env.node.upgrade("Counter", CounterV2)
      assert.strictEqual(report.upgraded.length, 1)
      assert.strictEqual(report.supervisors, 2, "the inner supervisor's child and the outer's spec of the inner")
      // Kill the inner supervisor: the outer starts it again from its spec, which must name v2.
      yield* env.monitor(innerPid)
      yield* env.node.exit(innerPid, Process.ExitReason.kill)
      yield* env.receive()
      const restarted = yield* Effect.gen(function*() {
        for (let i = 0; i < 200; i++) {
          const pid = (yield* Supervisor.whichChildren(env.node, top))[0]!.pid
          if (pid !== undefined && pid.toString() !== innerPid.toString()) return pid
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
        }
        return yield* Effect.dieMessage("the inner supervisor was not restarted within 1 s")
      })
      const counter = (yield* Supervisor.whichChildren(env.node, restarted))[0]!.pid!
      assert.strictEqual((yield* get(env, counter)).version, 2)
    }))

  it.scoped("upgradeApplication reaches into nested supervisors: a child added there is started", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Plain = Process.make({ name: "Plain", init: (tag: string) => Effect.succeed(tag) })
      const tree = (counter: Process.Any<string>, extra: boolean) =>
        Application.make({
          name: "nested",
          version: extra ? "2" : "1",
          root: [{
            id: "workers",
            type: "supervisor",
            args: undefined,
            behaviour: Supervisor.behaviour(
              [
                Supervisor.child({ id: "counter", behaviour: counter, args: "n" }),
                ...(extra ? [Supervisor.child({ id: "plain", behaviour: Plain, args: "p" })] : [])
              ].reduce((spec, add) => add(spec), Supervisor.oneForOne())
            )
          }]
        })
      const root = yield* Application.start(env.node, tree(CounterV1, false))
      const workers = (yield* Supervisor.whichChildren(env.node, root))[0]!.pid!
      const counter = (yield* Supervisor.whichChildren(env.node, workers))[0]!.pid!
      const report = yield* env.node.upgradeApplication(tree(CounterV2, true))
      assert.deepStrictEqual(report.started, ["workers/plain"])
      assert.deepStrictEqual(report.stopped, [])
      assert.strictEqual((yield* get(env, counter)).version, 2)
      const children = yield* Supervisor.whichChildren(env.node, workers)
      assert.deepStrictEqual(children.map((c) => c.id), ["counter", "plain"])
      assert.isDefined(children[1]!.pid)
    }))

  it.scoped("upgradeApplication upgrades changed children, starts added ones and stops removed ones", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Plain = Process.make({ name: "Plain", init: (tag: string) => Effect.succeed(tag) })
      const v1 = Application.make({
        name: "shop",
        version: "1.0.0",
        root: [
          { id: "counter", behaviour: CounterV1, args: "app" },
          { id: "old", behaviour: Plain, args: "old" }
        ]
      })
      const v2 = Application.make({
        name: "shop",
        version: "2.0.0",
        root: [
          { id: "counter", behaviour: CounterV2, args: "app" },
          { id: "added", behaviour: Plain, args: "added" }
        ]
      })
      const root = yield* Application.start(env.node, v1)
      const before = yield* Supervisor.whichChildren(env.node, root)
      const counter = before.find((c) => c.id === "counter")!.pid!
      const old = before.find((c) => c.id === "old")!.pid!
      yield* env.send(counter, { src: "local", seq: 1 })
      assert.strictEqual((yield* get(env, counter)).version, 1) // and the tick is handled by v1
      const report = yield* env.node.upgradeApplication(v2)
      assert.deepStrictEqual(report.started, ["added"])
      assert.deepStrictEqual(report.stopped, ["old"])
      assert.deepStrictEqual(report.upgraded.map(String), [counter.toString()])
      const after = yield* Supervisor.whichChildren(env.node, root)
      assert.deepStrictEqual(after.map((c) => c.id), ["counter", "added"])
      assert.strictEqual(after[0]!.pid!.toString(), counter.toString(), "the counter kept running: upgraded, not restarted")
      assert.deepStrictEqual(yield* get(env, counter), { version: 2, id: "app", local: 1, remote: 0, byV2: 0 })
      assert.isTrue(Option.isNone(yield* env.node.info(old)), "the removed child is stopped")
      assert.strictEqual((yield* Application.which(env.node)).find((a) => a.name === "shop")!.version, "2.0.0")
      const missing = yield* Effect.flip(env.node.upgradeApplication({ ...v2, name: "nope" }))
      assert.strictEqual(missing._tag, "ApplicationNotRunning")
    }))
})

/** Counts "count"s (telling `to` the count); a "block" tells `to` "blocked" and waits for `release`. */
const Busy = Process.make({
  name: "Busy",
  init: (args: { readonly release: Deferred.Deferred<void>; readonly to: Process.Pid }) => Effect.succeed({ ...args, n: 0 }),
  handleMessage: (message: "block" | "count", s, ctx) =>
    message === "block"
      ? Effect.as(Effect.zipRight(ctx.send(s.to, "blocked"), Deferred.await(s.release)), s)
      : Effect.as(ctx.send(s.to, s.n + 1), { ...s, n: s.n + 1 })
})

/** A test node with a `Busy` process blocked in a handler until `release` completes. */
const blockedBusy = Effect.gen(function*() {
  const env = yield* Testing.make()
  const release = yield* Deferred.make<void>()
  const pid = yield* env.spawn(Busy, { release, to: env.probe })
  yield* env.send(pid, "block")
  assert.strictEqual(yield* env.receive("2 seconds"), "blocked")
  return { env, pid, release }
})

describe("Process.suspend / resume", () => {
  it.scoped("messages queue while suspended and are handled in order on resume", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(CounterV1, "s")
      yield* Process.suspend(pid)
      for (let seq = 1; seq <= 10; seq++) yield* env.send(pid, { src: "local", seq })
      assert.strictEqual(Option.getOrThrow(yield* env.node.info(pid)).status, "suspended")
      assert.deepStrictEqual(Option.getOrThrow(yield* env.state(pid)), ["s", 0, 0])
      yield* Process.resume(pid)
      assert.deepStrictEqual(yield* get(env, pid), { version: 1, id: "s", local: 10, remote: 0, byV2: 0 })
    }))

  it.scopedLive("a suspended child that traps exits still obeys its supervisor: terminateChild runs its terminate at once", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Trapper = Process.make({
        name: "Trapper",
        options: { trapExit: true },
        init: (probe: Process.Pid) => Effect.succeed(probe),
        terminate: (reason, probe, ctx) => Effect.ignore(ctx.send(probe, `terminated: ${reason._tag}`))
      })
      const spec = Supervisor.oneForOne().pipe(
        Supervisor.child({ id: "t", behaviour: Trapper, args: env.probe, shutdown: 30_000 })
      )
      const sup = yield* Supervisor.start(env.node, spec)
      const child = (yield* Supervisor.whichChildren(env.node, sup))[0]!.pid!
      yield* Process.suspend(child)
      yield* Supervisor.terminateChild(env.node, sup, "t").pipe(Effect.timeout("5 seconds"))
      assert.strictEqual(yield* env.receive("1 second"), "terminated: shutdown")
    }))

  it.scoped("a suspended child ends with its parent's reason at once, with a crash report when that reason is not clean", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Child = Process.make({
        name: "Child",
        options: { trapExit: true },
        init: (probe: Process.Pid) => Effect.succeed(probe),
        terminate: (reason, probe, ctx) => Effect.ignore(ctx.send(probe, `terminated: ${Process.ExitReason.format(reason)}`))
      })
      const Parent = Process.make({
        name: "Parent",
        init: (probe: Process.Pid, ctx) => Effect.flatMap(Effect.orDie(ctx.spawnLink(Child, probe)), (child) => ctx.send(probe, child))
      })
      const reportsOfChild = Effect.map(env.logs, (logs) =>
        logs.filter((l) => l.annotations.report === "crash" && l.annotations.behaviour === "Child"))
      for (const reason of [Process.ExitReason.shutdown, Process.ExitReason.error("parent broke")]) {
        yield* env.spawn(Parent, env.probe)
        const child = (yield* env.receive()) as Process.Pid
        yield* Process.suspend(child)
        const parent = kernelOf(env.node).lookup(child)!.parent!
        yield* env.node.exit(parent, reason)
        assert.strictEqual(yield* env.receive(), `terminated: ${Process.ExitReason.format(reason)}`)
      }
      const reports = yield* reportsOfChild
      assert.strictEqual(reports.length, 1, reports.map((r) => r.message).join("\n"))
      assert.include(reports[0]!.message, "an exit signal from its parent")
      assert.include(reports[0]!.message, "parent broke")
    }))

  it.scoped("a suspended process still dies from an exit signal; unknown pids fail with noproc", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(CounterV1, "x")
      yield* Process.suspend(pid)
      yield* env.node.exit(pid, Process.ExitReason.error("stop"))
      const reason = yield* env.exitReason(pid)
      assert.strictEqual(reason._tag, "error")
      const error = yield* Effect.flip(Process.suspend(pid))
      assert.strictEqual(error.reason, "noproc")
      assert.include(error.message, "not alive")
    }))

  it.scoped("of two suspend requests waiting for a handler, the one that timed out is withdrawn and the other still answered", () =>
    Effect.gen(function*() {
      const { env, pid, release } = yield* blockedBusy
      // The short one times out and is withdrawn, the long one is still answered.
      const short = yield* Effect.fork(Process.suspend(pid, { timeout: "1 second" }))
      const long = yield* Effect.fork(Process.suspend(pid, { timeout: "10 seconds" }))
      yield* Effect.yieldNow()
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* Effect.flip(Fiber.join(short))).reason, "timeout")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(long)
      assert.strictEqual(Option.getOrThrow(yield* env.node.info(pid)).status, "suspended")
      yield* env.send(pid, "count")
      yield* env.expectNoMessage("10 millis")
      yield* Process.resume(pid)
      assert.strictEqual(yield* env.receive(), 1)
    }))

  it.scoped("a suspend interrupted while it waits for a handler is withdrawn: the process goes on after it", () =>
    Effect.gen(function*() {
      const { env, pid, release } = yield* blockedBusy
      const attempt = yield* Effect.fork(Process.suspend(pid, { timeout: "10 seconds" }))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(attempt)
      yield* Deferred.succeed(release, undefined)
      yield* env.send(pid, "count")
      assert.strictEqual(yield* env.receive(), 1, "not suspended: it handles the next message")
      assert.strictEqual(kernelOf(env.node).options.clock.unsafeCurrentTimeMillis(), 0, "no Clock time passed")
    }))

  it.scopedLive("a suspend without a time limit waits for the handler however long it takes (live clock)", () =>
    Effect.gen(function*() {
      const { env, pid, release } = yield* blockedBusy
      const attempt = yield* Effect.fork(Process.suspend(pid, { timeout: Duration.infinity }))
      yield* Effect.sleep("30 millis")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(attempt).pipe(Effect.timeout("2 seconds"))
      assert.strictEqual(Option.getOrThrow(yield* env.node.info(pid)).status, "suspended")
      yield* Process.resume(pid)
    }))

  it.scoped("withdrawn alone, a suspend request leaves the process running its next messages", () =>
    Effect.gen(function*() {
      const { env, pid, release } = yield* blockedBusy
      const attempt = yield* Effect.fork(Process.suspend(pid, { timeout: "1 second" }))
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* Effect.flip(Fiber.join(attempt))).reason, "timeout")
      yield* Deferred.succeed(release, undefined)
      yield* env.send(pid, "count")
      assert.strictEqual(yield* env.receive(), 1, "not suspended: it handles the next message")
      assert.strictEqual(Option.getOrThrow(yield* env.node.info(pid)).status, "idle")
    }))
})
