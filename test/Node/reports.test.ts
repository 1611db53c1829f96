import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
import { Process, Testing } from "../../src/index.js"
import { liveClockTimers } from "../Process/helpers.js"

class Boom extends Schema.TaggedClass<Boom>()("Boom", { code: Schema.Number }) {}

/** Crashes on a `Boom` with a failure naming its code. */
const Fragile = Process.make({
  name: "Fragile",
  init: () => Effect.void,
  handleMessage: (m: Boom) => Effect.fail(`bad code ${m.code}`)
})

const crashReports = (logs: ReadonlyArray<Testing.LogEntry>) => logs.filter((l) => l.annotations.report === "crash")

describe("crash reports", () => {
  it.scoped("a terminate that dies is a crash report, and the process ends with that defect (gen_server's rule)", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Leaky = Process.make({
        name: "Leaky",
        init: (how: "dies" | "dies later" | "ok") => Effect.succeed(how),
        terminate: (_reason, how) =>
          how === "dies"
            ? Effect.die(new Error("could not flush"))
            : how === "dies later"
            ? Effect.zipRight(Effect.sleep("1 second"), Effect.dieMessage("disk gone"))
            : Effect.void
      })
      const fails = yield* env.spawn(Leaky, "dies")
      const later = yield* env.spawn(Leaky, "dies later")
      const ok = yield* env.spawn(Leaky, "ok")
      for (const pid of [fails, later, ok]) yield* env.monitor(pid)
      for (const pid of [fails, later, ok]) yield* env.node.exit(pid, Process.ExitReason.shutdown)
      yield* TestClock.adjust("1 second")
      const downs = new Map<string, Process.ExitReason.ExitReason>()
      for (let i = 0; i < 3; i++) {
        const down = (yield* env.receive()) as Process.Down
        downs.set(down.target.toString(), down.reason)
      }
      assert.include(Process.ExitReason.format(downs.get(fails.toString())!), "could not flush")
      assert.include(Process.ExitReason.format(downs.get(later.toString())!), "disk gone")
      assert.strictEqual(downs.get(ok.toString())!._tag, "shutdown")
      const reports = crashReports(yield* env.logs)
      assert.deepStrictEqual(reports.map((r) => r.annotations.pid).sort(), [fails.toString(), later.toString()].sort())
      for (const report of reports) assert.include(report.message, "crashed in terminate")
    }))

  it.scoped("a crashing process logs its pid, name, behaviour, reason with cause, and the message it was handling", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Fragile, undefined, { name: "fragile" })
      yield* env.send(pid, new Boom({ code: 42 }))
      yield* env.exitReason(pid)
      const [report, ...more] = crashReports(yield* env.logs)
      assert.strictEqual(more.length, 0)
      assert.isDefined(report)
      assert.strictEqual(report!.level, "ERROR")
      assert.strictEqual(report!.annotations.pid, pid.toString())
      assert.strictEqual(report!.annotations.name, "fragile")
      assert.strictEqual(report!.annotations.behaviour, "Fragile")
      assert.include(String(report!.annotations.reason), "bad code 42")
      assert.include(String(report!.annotations.lastMessage), "Boom")
      assert.include(String(report!.annotations.lastMessage), "42")
      assert.include(report!.message, "handleMessage")
      assert.include(report!.message, "bad code 42")
      assert.include(report!.message, `fragile ${pid.toString()} (Fragile)`, "the name, then the pid")
      // an unnamed process: its pid alone, and no name annotation
      const unnamed = yield* env.spawn(Fragile, undefined)
      yield* env.send(unnamed, new Boom({ code: 43 }))
      yield* env.exitReason(unnamed)
      const second = crashReports(yield* env.logs)[1]!
      assert.include(second.message, `crash report: ${unnamed.toString()} (Fragile)`)
      assert.notProperty(second.annotations, "name")
    }))

  it.scoped("a defect in a call, a failing init and an abnormal stop are crash reports; normal and shutdown exits are not", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Mixed = Process.make({
        name: "Mixed",
        init: (fail: boolean) => (fail ? Effect.fail("no config") : Effect.void),
        handleCall: (q: "die" | "stop-error" | "stop-normal", _from, s, ctx) => {
          if (q === "die") return Effect.die(new Error("defect in call"))
          if (q === "stop-error") return Effect.as(ctx.stop(Process.ExitReason.error("gave up")), Process.reply("ok", s))
          return Effect.as(ctx.stop(), Process.reply("ok", s))
        }
      })
      const a = yield* env.spawn(Mixed, false)
      yield* Effect.either(env.call(a, "die"))
      yield* Effect.flip(env.spawn(Mixed, true))
      const b = yield* env.spawn(Mixed, false)
      yield* env.call(b, "stop-error")
      yield* env.exitReason(b)
      const c = yield* env.spawn(Mixed, false)
      yield* env.call(c, "stop-normal")
      yield* env.exitReason(c)
      const d = yield* env.spawn(Mixed, false)
      yield* env.node.exit(d, Process.ExitReason.shutdown)
      yield* env.exitReason(d)
      const reports = crashReports(yield* env.logs)
      assert.strictEqual(reports.length, 3, reports.map((r) => r.message).join("\n"))
      assert.include(reports[0]!.message, "handleCall")
      assert.include(reports[0]!.message, "defect in call")
      assert.strictEqual(reports[0]!.annotations.lastMessage, "'die'")
      assert.include(reports[1]!.message, "init")
      assert.include(reports[1]!.message, "no config")
      assert.include(reports[2]!.message, "gave up")
    }))

  it.scoped("an init that stops cleanly or interrupts itself is no crash report; one that stops with an error is", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Stopper = Process.make({
        name: "Stopper",
        init: (how: "normal" | "shutdown" | "interrupt" | "error", ctx) =>
          how === "interrupt"
            ? Effect.interrupt
            : ctx.stop(how === "normal" ? undefined : how === "shutdown" ? Process.ExitReason.shutdown : Process.ExitReason.error("init gave up"))
      })
      for (const how of ["normal", "shutdown", "interrupt", "error"] as const) {
        const error = yield* Effect.flip(env.spawn(Stopper, how))
        assert.strictEqual(error._tag, "InitFailed", how)
      }
      const reports = crashReports(yield* env.logs)
      assert.strictEqual(reports.length, 1, reports.map((r) => r.message).join("\n"))
      assert.include(reports[0]!.message, "init gave up")
    }))

  it.scoped("a handler that suspends before it fails is reported with its message too", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Slow = Process.make({
        name: "Slow",
        init: () => Effect.yieldNow(),
        handleMessage: (m: Boom) => Effect.yieldNow().pipe(Effect.zipRight(Effect.fail(`slow failure ${m.code}`)))
      })
      const pid = yield* env.spawn(Slow, undefined)
      yield* env.send(pid, new Boom({ code: 7 }))
      yield* env.exitReason(pid)
      const [report] = crashReports(yield* env.logs)
      assert.include(report!.message, "slow failure 7")
      assert.include(String(report!.annotations.lastMessage), "code: 7")
    }))

  it.scoped("under a crash storm reports are rate-limited, then one line says how many were suppressed", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { reportsPerSecond: 5 } })
      for (let i = 0; i < 30; i++) {
        const pid = yield* env.spawn(Fragile, undefined)
        yield* env.send(pid, new Boom({ code: i }))
        yield* env.exitReason(pid)
      }
      assert.strictEqual(crashReports(yield* env.logs).length, 5)
      yield* TestClock.adjust("1 second")
      const logs = yield* env.logs
      const suppressed = logs.filter((l) => l.message.startsWith("suppressed"))
      assert.strictEqual(suppressed.length, 1)
      assert.include(suppressed[0]!.message, "suppressed 25 reports")
      // A new second: reports flow again.
      const pid = yield* env.spawn(Fragile, undefined)
      yield* env.send(pid, new Boom({ code: 99 }))
      yield* env.exitReason(pid)
      assert.strictEqual(crashReports(yield* env.logs).length, 6)
    }))

  it.scoped("the suppressed line comes when the window ends, once, with its count; a node that stops writes it at once", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { reportsPerSecond: 2 } })
      const storm = (n: number) =>
        Effect.gen(function*() {
          for (let i = 0; i < n; i++) {
            const pid = yield* env.spawn(Fragile, undefined)
            yield* env.send(pid, new Boom({ code: i }))
            yield* env.exitReason(pid)
          }
        })
      const suppressedLines = Effect.map(env.logs, (logs) => logs.filter((l) => l.message.startsWith("suppressed")))
      yield* TestClock.adjust("300 millis")
      const timersBefore = liveClockTimers(env.node)
      yield* storm(3)
      assert.strictEqual(liveClockTimers(env.node), timersBefore + 1, "the first suppressed report arms the flush")
      yield* storm(5)
      assert.strictEqual(liveClockTimers(env.node), timersBefore + 1, "and the others do not arm another")
      yield* TestClock.adjust("999 millis")
      assert.strictEqual((yield* suppressedLines).length, 0, "the window (opened at 300 ms) is not over")
      yield* TestClock.adjust("1 millis")
      const [line, ...more] = yield* suppressedLines
      assert.strictEqual(more.length, 0)
      assert.include(line!.message, "suppressed 6 reports (more than 2 per second")
      assert.include(line!.annotations, { suppressed: "6", node: env.node.name })
      assert.strictEqual(liveClockTimers(env.node), timersBefore)
      // a storm cut short by the node's stop: the line is written by the stop, not lost
      yield* TestClock.adjust("1 second")
      yield* storm(4)
      yield* env.node.stop
      const lines = yield* suppressedLines
      assert.strictEqual(lines.length, 2)
      assert.include(lines[1]!.message, "suppressed 2 reports")
      assert.strictEqual(liveClockTimers(env.node), 0, "the stop took the flush timer back")
    }))

  it.scoped("a suppressed report is never formatted: a crash storm does not pay for the text it drops", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { reportsPerSecond: 2 } })
      let rendered = 0
      // `inspect` calls this to render the crash's last message: once per written report.
      const message = { [Symbol.for("nodejs.util.inspect.custom")]: () => `rendered #${++rendered}` }
      const Crashing = Process.make({
        name: "Crashing",
        init: () => Effect.void,
        handleMessage: (_: typeof message) => Effect.fail("on purpose")
      })
      for (let i = 0; i < 20; i++) {
        const pid = yield* env.spawn(Crashing, undefined)
        yield* env.send(pid, message)
        yield* env.exitReason(pid)
      }
      assert.strictEqual(crashReports(yield* env.logs).length, 2)
      assert.strictEqual(rendered, 2, "only the two written reports rendered their message")
    }))

  it.scoped("log.crashReports: false silences them", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { crashReports: false } })
      const pid = yield* env.spawn(Fragile, undefined)
      yield* env.send(pid, new Boom({ code: 1 }))
      assert.strictEqual((yield* env.exitReason(pid))._tag, "error")
      assert.strictEqual(crashReports(yield* env.logs).length, 0)
    }))

  it.scoped("a bad option is a tagged error that names it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Testing.make({ log: { reportsPerSecond: 0 } }))
      assert.strictEqual(error._tag, "InvalidNodeOption")
      assert.include(error.message, "log.reportsPerSecond")
    }))
})

describe("unhandled messages", () => {
  it.scoped("a message a behaviour has no handler for is logged once per behaviour and message type", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const CallsOnly = Process.make({
        name: "CallsOnly",
        init: () => Effect.void,
        handleCall: (_: "ping", _from, s) => Effect.succeed(Process.reply("pong", s))
      })
      const pid = yield* env.spawn(CallsOnly, undefined)
      const other = yield* env.spawn(CallsOnly, undefined)
      for (const m of ["a", "b", 1, 2, new Boom({ code: 1 }), new Boom({ code: 2 })]) yield* env.send(pid as any, m)
      yield* env.send(other as any, "c")
      yield* env.monitor(pid) // a Down would be unhandled too, but pid stays alive
      assert.strictEqual(yield* env.call(pid, "ping"), "pong")
      const warnings = (yield* env.logs).filter((l) => l.message.includes("has no handleMessage"))
      assert.deepStrictEqual(warnings.map((w) => w.annotations.messageType).sort(), ["Boom", "number", "string"])
      assert.isTrue(warnings.every((w) => w.level === "WARN" && w.annotations.behaviour === "CallsOnly"))
    }))
})
