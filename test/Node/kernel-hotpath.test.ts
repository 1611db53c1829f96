/**
 * The kernel's hot path (`src/Node/internal/kernel.ts`: lookup, schedule, drain, step, handle,
 * complete), on what a user can observe: which addresses reach a local process, a drain over
 * thousands of ready processes, the senders waiting on a full mailbox, and what a handler's
 * outcome does to its process and to the crash reports. Written against the survivors of a
 * mutation run (issue 24): each test fails when the line it guards is broken.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, Queue } from "effect"
import { Process } from "../../src/index.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"
import { Alias, Name, Pid, Reference } from "../../src/Process/Pid.js"
import * as Testing from "../testing.js"
import { within } from "../Process/helpers.js"

const crashReports = (logs: ReadonlyArray<Testing.LogEntry>) => logs.filter((l) => l.annotations.report === "crash")

/** Hands out an alias to the probe; forwards every other message to it. */
const Aliased = Process.make({
  name: "Aliased",
  init: (probe: Process.Pid) => Effect.succeed(probe),
  handleMessage: (msg: unknown, probe, ctx) =>
    msg === "alias"
      ? Effect.as(Effect.flatMap(ctx.alias(), (alias) => ctx.send(probe, alias)), probe)
      : Effect.as(ctx.send(probe, msg), probe)
})

describe("kernel lookup", () => {
  it.scoped("a pid of an earlier incarnation of this node, or of another node, does not reach a local process", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Aliased, env.probe)
      const kernel = kernelOf(env.node)
      assert.isTrue(Option.isSome(yield* env.node.info(pid)))
      const earlier = new Pid({ node: pid.node, id: pid.id, creation: pid.creation + 1 })
      assert.isTrue(Option.isNone(yield* env.node.info(earlier)), "another creation's pid is not this process")
      const elsewhere = new Pid({ node: "other@localhost", id: pid.id, creation: pid.creation })
      assert.isTrue(Option.isNone(yield* env.node.info(elsewhere)), "another node's pid is not this process")
      // the stale pid is dropped, silently (Erlang), and the process gets nothing
      yield* env.node.send(earlier, "stale")
      yield* env.expectNoMessage("30 millis")
      yield* env.send(pid, "live")
      assert.strictEqual(yield* env.receive(), "live")
      assert.strictEqual(kernel.lookup(earlier), undefined)
      assert.strictEqual(kernel.lookup(elsewhere), undefined)
      assert.strictEqual(kernel.lookup(pid)?.pid, pid)
    }))

  it.scoped("a name on another node is not the local process registered under it", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Aliased, env.probe)
      yield* env.node.register("svc", pid)
      const kernel = kernelOf(env.node)
      assert.strictEqual(kernel.lookup("svc")?.pid, pid)
      assert.strictEqual(kernel.lookup(new Name({ name: "svc", node: kernel.name }))?.pid, pid)
      assert.strictEqual(kernel.lookup(new Name({ name: "svc", node: "other@localhost" })), undefined)
    }))

  it.scoped("an alias of an earlier incarnation or another node, or a reference with its id, does not reach the process", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Aliased, env.probe)
      yield* env.send(pid, "alias")
      const alias = (yield* env.receive()) as Alias
      const kernel = kernelOf(env.node)
      assert.strictEqual(kernel.lookup(alias)?.pid, pid)
      const { creation, id, node } = alias
      assert.strictEqual(kernel.lookup(new Alias({ node, id, creation: creation + 1 })), undefined)
      assert.strictEqual(kernel.lookup(new Alias({ node: "other@localhost", id, creation })), undefined)
      // a Reference is not an address, even with the id of a live alias
      assert.strictEqual(kernel.lookup(new Reference({ node, id, creation }) as any), undefined)
      yield* env.node.send(new Alias({ node, id, creation: creation + 1 }), "stale")
      yield* env.expectNoMessage("30 millis")
      yield* env.send(alias, "via alias")
      assert.strictEqual(yield* env.receive(), "via alias")
    }))
})

/** Reports each message to the probe with its own pid. */
const Echo = Process.make({
  name: "Echo",
  init: (probe: Process.Pid) => Effect.succeed(probe),
  handleMessage: (msg: number, probe, ctx) => Effect.as(ctx.send(probe, [ctx.self.id, msg]), probe)
})

describe("kernel drain", () => {
  it.scoped("2,500 processes made ready in one drain each handle their messages, in order, and the run queue is compacted", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const n = 2_500
      const kernel = kernelOf(env.node)
      const lengths: Array<number> = []
      const pids: Array<Process.Pid> = []
      for (let i = 0; i < n; i++) pids.push(yield* env.spawn(Echo, env.probe))
      const Measure = Process.make({
        name: "Measure",
        init: () => Effect.void,
        handleMessage: (_: "go", s) =>
          Effect.sync(() => {
            lengths.push((kernel as any).runQueue.length)
            return s
          })
      })
      const measure = yield* env.spawn(Measure, undefined)
      // One handler sends to all of them without yielding: they are all on the run queue at once,
      // and Measure after them runs when they all have.
      const Fanout = Process.make({
        name: "Fanout",
        init: () => Effect.void,
        handleMessage: (_: "go", s, ctx) =>
          Effect.sync(() => {
            for (const pid of pids) Effect.runSync(Effect.zipRight(ctx.send(pid, 1), ctx.send(pid, 2)))
            Effect.runSync(ctx.send(measure, "go"))
            return s
          })
      })
      const fanout = yield* env.spawn(Fanout, undefined)
      yield* env.send(fanout, "go")
      const got = new Map<number, Array<number>>()
      for (let i = 0; i < 2 * n; i++) {
        const [id, msg] = (yield* env.receive("5 seconds")) as [number, number]
        const list = got.get(id) ?? []
        list.push(msg)
        got.set(id, list)
      }
      assert.strictEqual(got.size, n)
      for (const pid of pids) assert.deepStrictEqual(got.get(pid.id), [1, 2])
      assert.strictEqual(lengths.length, 1)
      // without compaction the queue still holds a slot per process already run
      assert.isBelow(lengths[0]!, n / 2, "the run queue drops the slots of processes already run")
    }))
})

/** Handles one message per ticket, telling the probe which it took. */
const Ticketed = Process.make({
  name: "Ticketed",
  init: (args: { readonly tickets: Queue.Queue<void>; readonly probe: Process.Pid }) => Effect.succeed(args),
  handleMessage: (msg: number, s, ctx) =>
    Effect.as(Effect.zipRight(ctx.send(s.probe, msg), Queue.take(s.tickets)), s)
})

describe("kernel mailbox waiters", () => {
  it.scoped("a slot freed in a full mailbox releases exactly one waiting node.send, in arrival order", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const tickets = yield* Queue.unbounded<void>()
      const pid = yield* env.spawn(Ticketed, { tickets, probe: env.probe }, { mailboxSize: 1 })
      yield* env.send(pid, 0)
      assert.strictEqual(yield* env.receive(), 0) // taken: the handler waits for a ticket
      yield* env.send(pid, 1) // fills the mailbox
      const s2 = yield* Effect.fork(env.node.send(pid, 2))
      yield* Effect.yieldNow()
      const s3 = yield* Effect.fork(env.node.send(pid, 3))
      yield* Effect.yieldNow()
      const s4 = yield* Effect.fork(env.node.send(pid, 4))
      yield* Effect.yieldNow()
      assert.isNull(s2.unsafePoll())
      const mailbox = () => Effect.map(env.node.info(pid), (info) => Option.getOrThrow(info).mailbox.main)
      assert.strictEqual(yield* mailbox(), 1)
      yield* Queue.offer(tickets, undefined) // 0 done: 1 is taken, one slot frees, 2 gets it
      assert.strictEqual(yield* env.receive(), 1)
      yield* within(Fiber.join(s2), "the first waiting sender to get the freed slot", 5)
      yield* Effect.yieldNow()
      assert.isNull(s3.unsafePoll(), "one slot freed: the second waiter still waits")
      assert.isNull(s4.unsafePoll(), "one slot freed: the third waiter still waits")
      assert.strictEqual(yield* mailbox(), 1, "the mailbox never holds more than its size")
      yield* Queue.offer(tickets, undefined)
      assert.strictEqual(yield* env.receive(), 2)
      yield* within(Fiber.join(s3), "the second waiting sender", 5)
      assert.isNull(s4.unsafePoll())
      assert.strictEqual(yield* mailbox(), 1)
      yield* Queue.offerAll(tickets, [undefined, undefined, undefined])
      assert.deepStrictEqual([yield* env.receive(), yield* env.receive()], [3, 4])
      yield* within(Fiber.join(s4), "the third waiting sender", 5)
    }))
})

describe("kernel handle and complete", () => {
  it.scoped("a process with no handleInfo drops an info message with a warning and keeps running", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const NoInfo = Process.make({
        name: "NoInfo",
        init: (probe: Process.Pid) => Effect.succeed(probe),
        handleMessage: (msg: Process.Pid | "ping", probe, ctx) =>
          msg === "ping" ? Effect.as(ctx.send(probe, "pong"), probe) : Effect.as(ctx.monitor(msg), probe)
      })
      const watcher = yield* env.spawn(NoInfo, env.probe)
      const target = yield* env.spawn(Aliased, env.probe)
      yield* env.send(watcher, target)
      yield* env.send(watcher, "ping")
      assert.strictEqual(yield* env.receive(), "pong")
      yield* env.node.exit(target, Process.ExitReason.kill)
      assert.strictEqual((yield* env.exitReason(target))._tag, "killed")
      yield* env.send(watcher, "ping")
      assert.strictEqual(yield* env.receive(), "pong", "the Down did not crash it")
      assert.isTrue(Option.isSome(yield* env.node.info(watcher)))
      const warnings = (yield* env.logs).filter((l) => l.message.includes("has no handleInfo"))
      assert.strictEqual(warnings.length, 1)
      assert.strictEqual(crashReports(yield* env.logs).length, 0)
    }))

  for (const [label, returned] of [["undefined", undefined], ["null", null], ["a number", 42], ["an object without _tag", {}]] as const) {
    it.scoped(`handleCall returning ${label} crashes the process with a message naming what it must return`, () =>
      Effect.gen(function*() {
        const env = yield* Testing.make()
        const Bad = Process.make({
          name: "Bad",
          init: () => Effect.void,
          handleCall: (_: "get") => Effect.succeed(returned as any)
        })
        const pid = yield* env.spawn(Bad, undefined)
        const failed = yield* Effect.flip(env.call(pid as any, "get" as any, "2 seconds"))
        assert.notStrictEqual((failed as any)._tag, "Timeout")
        const reason = yield* env.exitReason(pid)
        assert.strictEqual(reason._tag, "error")
        assert.include(Process.ExitReason.format(reason), "Bad.handleCall must return Process.reply, replyError or noReply")
        const [report] = crashReports(yield* env.logs)
        assert.include(report!.message, "crashed in handleCall")
      }))
  }

  it.scoped("a crash report names the handler that failed: init, handleCall, handleInfo, handleMessage", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Crashy = Process.make({
        name: "Crashy",
        init: (where: string) => (where === "init" ? Effect.fail("boom in init") : Effect.succeed(where)),
        handleMessage: (msg: Process.Pid | "crash", s, ctx) =>
          msg === "crash" ? Effect.fail("boom in handleMessage") : Effect.as(ctx.monitor(msg), s),
        handleCall: (_: "crash") => Effect.fail("boom in handleCall"),
        handleInfo: () => Effect.fail("boom in handleInfo")
      })
      yield* Effect.exit(env.spawn(Crashy, "init"))
      const a = yield* env.spawn(Crashy, "call")
      yield* Effect.exit(env.call(a as any, "crash" as any, "2 seconds"))
      yield* env.exitReason(a)
      const b = yield* env.spawn(Crashy, "info")
      const target = yield* env.spawn(Aliased, env.probe)
      yield* env.send(b, target)
      yield* env.node.exit(target, Process.ExitReason.kill)
      yield* env.exitReason(b)
      const c = yield* env.spawn(Crashy, "message")
      yield* env.send(c, "crash")
      yield* env.exitReason(c)
      const handlers = crashReports(yield* env.logs).map((l) => /crashed in (\w+)/.exec(l.message)?.[1])
      assert.deepStrictEqual(handlers, ["init", "handleCall", "handleInfo", "handleMessage"])
    }))

  it.scoped("a handler interrupted on its own exits the process killed, with no crash report", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Quits = Process.make({
        name: "Quits",
        init: () => Effect.void,
        handleMessage: (_: "quit") => Effect.interrupt
      })
      const pid = yield* env.spawn(Quits, undefined)
      yield* env.send(pid, "quit")
      assert.strictEqual((yield* env.exitReason(pid))._tag, "killed")
      assert.strictEqual(crashReports(yield* env.logs).length, 0)
    }))

  it.scoped("an exit signal from the parent ends a trapping process through terminate; a crash report only when abnormal", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const terminated = yield* Queue.unbounded<string>()
      const Trapping = Process.make({
        name: "Trapping",
        init: () => Effect.void,
        handleMessage: (_: "noop", s) => Effect.succeed(s),
        terminate: (reason) => Queue.offer(terminated, reason._tag)
      })
      const clean = yield* env.node.spawn(Trapping, undefined, { trapExit: true })
      yield* env.node.exit(clean, Process.ExitReason.shutdown)
      assert.strictEqual((yield* env.exitReason(clean))._tag, "shutdown")
      assert.strictEqual(yield* Queue.take(terminated), "shutdown")
      assert.strictEqual(crashReports(yield* env.logs).length, 0)
      const abnormal = yield* env.node.spawn(Trapping, undefined, { trapExit: true })
      yield* env.node.exit(abnormal, Process.ExitReason.error("parent failed"))
      assert.strictEqual((yield* env.exitReason(abnormal))._tag, "error")
      assert.strictEqual(yield* Queue.take(terminated), "error")
      const [report, ...more] = crashReports(yield* env.logs)
      assert.strictEqual(more.length, 0)
      assert.include(report!.message, "an exit signal from its parent")
    }))
  it.scoped("a process asked to suspend while its handler waits suspends when the handler returns, and takes nothing meanwhile", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const gate = yield* Deferred.make<void>()
      const Waits = Process.make({
        name: "Waits",
        init: (probe: Process.Pid) => Effect.succeed(probe),
        handleMessage: (msg: string, probe, ctx) =>
          Effect.as(Effect.zipRight(msg === "wait" ? Deferred.await(gate) : Effect.void, ctx.send(probe, msg)), probe)
      })
      const pid = yield* env.spawn(Waits, env.probe)
      yield* env.send(pid, "wait")
      yield* Effect.yieldNow()
      const suspending = yield* Effect.fork(Process.suspend(pid, { timeout: "3 seconds" }))
      yield* Effect.yieldNow()
      assert.isNull(suspending.unsafePoll(), "it suspends only once its handler returns")
      yield* env.send(pid, "queued")
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(yield* env.receive(), "wait")
      yield* within(Fiber.join(suspending), "suspend to complete when the handler returned", 5)
      assert.strictEqual(Option.getOrThrow(yield* env.node.info(pid)).status, "suspended")
      yield* env.expectNoMessage("30 millis")
      yield* Process.resume(pid)
      assert.strictEqual(yield* env.receive(), "queued")
    }))

  it.scoped("a process that sends itself an abnormal exit signal in its handler exits with it, without a crash report", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const SelfExit = Process.make({
        name: "SelfExit",
        init: () => Effect.void,
        handleMessage: (_: "exit", s, ctx) => Effect.as(ctx.exit(ctx.self, Process.ExitReason.error("by signal")), s)
      })
      const pid = yield* env.spawn(SelfExit, undefined)
      yield* env.send(pid, "exit")
      const reason = yield* env.exitReason(pid)
      assert.strictEqual(reason._tag, "error")
      assert.include(Process.ExitReason.format(reason), "by signal")
      assert.strictEqual(crashReports(yield* env.logs).length, 0)
    }))
})

describe("kernel drain details", () => {
  it.scoped("a handler that throws instead of returning an Effect crashes its process with what it threw", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Throws = Process.make({
        name: "Throws",
        init: () => Effect.void,
        handleMessage: (_: "throw"): Effect.Effect<void> => {
          throw new Error("thrown outside any Effect")
        }
      })
      const pid = yield* env.spawn(Throws, undefined)
      yield* env.send(pid, "throw")
      const reason = yield* env.exitReason(pid)
      assert.strictEqual(reason._tag, "error")
      assert.include(Process.ExitReason.format(reason), "thrown outside any Effect")
      const [report] = crashReports(yield* env.logs)
      assert.include(report!.message, "crashed in handleMessage")
    }))

  it.scoped("a process suspended while on the run queue takes none of its messages until resumed", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Aliased, env.probe)
      // no yield between them: it is on the run queue, not yet drained, when it is suspended
      yield* env.send(pid, "first")
      yield* Process.suspend(pid)
      yield* env.expectNoMessage("30 millis")
      assert.strictEqual(Option.getOrThrow(yield* env.node.info(pid)).mailbox.main, 1)
      yield* Process.resume(pid)
      assert.strictEqual(yield* env.receive(), "first")
    }))

  it.scoped("a process that keeps sending itself messages lets another ready process run (a batch per turn)", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Looper = Process.make({
        name: "Looper",
        init: (probe: Process.Pid) => Effect.succeed(probe),
        handleMessage: (n: number, probe, ctx) =>
          Effect.as(n === 0 ? ctx.send(probe, "looper done") : ctx.send(ctx.self, n - 1), probe)
      })
      const looper = yield* env.spawn(Looper, env.probe)
      const other = yield* env.spawn(Aliased, env.probe)
      yield* env.send(looper, 5_000)
      yield* env.send(other, "other")
      assert.strictEqual(yield* env.receive(), "other", "the other process ran before the looper's 5,000 messages")
      assert.strictEqual(yield* env.receive(), "looper done")
    }))

  it.scoped("link exit signals queued together reach each trapping process with their own sender and reason", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Stopper = Process.make({
        name: "Stopper",
        init: () => Effect.void,
        handleMessage: (reason: Process.ExitReason.ExitReason, s, ctx) => Effect.as(ctx.stop(reason), s)
      })
      const Trapper = Process.make({
        name: "Trapper",
        init: (args: { readonly probe: Process.Pid; readonly links: ReadonlyArray<Process.Pid> }, ctx) =>
          Effect.as(Effect.zipRight(ctx.trapExit(true), Effect.forEach(args.links, (pid) => ctx.link(pid))), args.probe),
        handleMessage: (_: "ping", probe, ctx) => Effect.as(ctx.send(probe, ["pong", ctx.self.id]), probe),
        handleInfo: (info, probe, ctx) => Effect.as(ctx.send(probe, [info, ctx.self.id]), probe)
      })
      const a = yield* env.spawn(Stopper, undefined)
      const b = yield* env.spawn(Stopper, undefined)
      const t1 = yield* env.spawn(Trapper, { probe: env.probe, links: [a, b] })
      const t2 = yield* env.spawn(Trapper, { probe: env.probe, links: [a] })
      // a's one exit queues two signals (to t1 and t2), then b's: three in one batch
      yield* env.send(a, Process.ExitReason.kill)
      yield* env.send(b, Process.ExitReason.error("b failed"))
      const got: Array<string> = []
      for (let i = 0; i < 3; i++) {
        const [exit, id] = (yield* env.receive()) as [Process.Exit, number]
        assert.instanceOf(exit, Process.Exit)
        got.push(`${id}:${exit.from.id}:${exit.reason._tag}`)
      }
      assert.sameMembers(got, [`${t1.id}:${a.id}:kill`, `${t2.id}:${a.id}:kill`, `${t1.id}:${b.id}:error`])
      // a link's `kill` is an ordinary reason to a trapping process: both are alive
      yield* env.send(t1, "ping")
      yield* env.send(t2, "ping")
      assert.sameDeepMembers([yield* env.receive(), yield* env.receive()], [["pong", t1.id], ["pong", t2.id]])
    }))

  it.scoped("after its log-priority message, an idle process handles nothing more", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Aliased, env.probe)
      yield* env.node.send(pid, "logged", "log")
      assert.strictEqual(yield* env.receive(), "logged")
      yield* env.send(pid, "normal")
      assert.strictEqual(yield* env.receive(), "normal")
      yield* env.expectNoMessage("50 millis")
    }))

  it.scoped("a node's and a process's uptime are finite, non-negative milliseconds", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Aliased, env.probe)
      const metrics = yield* env.node.metrics
      assert.isTrue(Number.isFinite(metrics.uptimeMillis) && metrics.uptimeMillis >= 0, `${metrics.uptimeMillis}`)
      const info = Option.getOrThrow(yield* env.node.info(pid))
      assert.isTrue(Number.isFinite(info.uptimeMillis) && info.uptimeMillis >= 0, `${info.uptimeMillis}`)
    }))
})
