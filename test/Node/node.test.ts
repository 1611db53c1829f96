import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Scope, TestClock } from "effect"
import { Node, Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import { Idle, Relay, within } from "../Process/helpers.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"

describe("node", () => {
  it.scoped("an invalid node name is refused with a clear error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Node.start("no-at-sign"))
      assert.strictEqual(error._tag, "InvalidNodeName")
      assert.include(error.message, "name@host")
    }))

  it.scoped("from plain JS: a non-string name, a network without cookie or with a port that is no port are refused", () =>
    Effect.gen(function*() {
      const name = yield* Effect.flip(Node.start(42 as any))
      assert.strictEqual(name._tag, "InvalidNodeName")
      assert.include(name.message, `"42" is not a node name`)
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ port: 0 }, "Node option network.cookie is undefined: it must be a non-empty string"],
        [{ cookie: "", port: 0 }, "Node option network.cookie is : it must be a non-empty string"],
        [{ cookie: "c", port: "x" }, `Node option network.port is "x": it must be an integer from 0 to 65535`],
        [{ cookie: "c", port: 70000 }, "Node option network.port is 70000"]
      ]
      for (const [network, expected] of cases) {
        const error = yield* Effect.flip(Node.start("bad@127.0.0.1", { network: network as any }))
        assert.strictEqual(error._tag, "InvalidNodeOption")
        assert.include(error.message, expected)
      }
    }))

  it.scoped("maxProcesses: spawning past it fails with TooManyProcesses", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("lim@localhost", { limits: { maxProcesses: 3 } })
      yield* node.spawn(Idle, undefined)
      yield* node.spawn(Idle, undefined)
      yield* node.spawn(Idle, undefined)
      const error = yield* Effect.flip(node.spawn(Idle, undefined))
      assert.strictEqual(error._tag, "TooManyProcesses")
    }))

  it.effect("closing the node's scope stops every process newest first with shutdown, running terminate", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      const Named = Process.make({
        name: "Named",
        init: (label: string) => Effect.succeed(label),
        terminate: (reason, label) => Effect.sync(() => order.push(`${label}:${reason._tag}`))
      })
      const scope = yield* Scope.make()
      const node = yield* Node.start("stop@localhost").pipe(Scope.extend(scope))
      for (const label of ["a", "b", "c"]) yield* node.spawn(Named, label)
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(order, ["c:shutdown", "b:shutdown", "a:shutdown"])
      assert.strictEqual(kernelOf(node).procs.size, 0)
      const error = yield* Effect.flip(node.spawn(Idle, undefined))
      assert.strictEqual(error._tag, "NodeStopped")
      yield* within(node.wait, "node.wait after the node stopped", 5)
    }))

  it.scoped("stopping the node kills a terminate that does not end after process.shutdownTimeout, naming it in one warning", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ process: { shutdownTimeout: "2 seconds" } })
      const Stuck = Process.make({ name: "Stuck", init: () => Effect.void, terminate: () => Effect.never })
      const Quick = Process.make({ name: "Quick", init: () => Effect.void, terminate: () => Effect.void })
      yield* env.spawn(Stuck, undefined, { name: "stuck" })
      yield* env.spawn(Quick, undefined)
      const stopping = yield* Effect.fork(env.node.stop)
      yield* TestClock.adjust("1999 millis")
      assert.isNull(stopping.unsafePoll(), "the node waits for terminate until the timeout")
      const running = Array.from(kernelOf(env.node).procs.values()).map((proc) => proc.behaviour.name).sort()
      assert.deepStrictEqual(running, ["Stuck"], "Quick ended at once; Stuck is still in its terminate")
      yield* TestClock.adjust("1 millis")
      yield* within(Fiber.join(stopping), "node.stop after the shutdown timeout", 5)
      assert.strictEqual(kernelOf(env.node).procs.size, 0)
      const warnings = (yield* env.logs).filter((l) => l.message.startsWith("node stop:"))
      assert.strictEqual(warnings.length, 1)
      assert.strictEqual(warnings[0]!.level, "WARN")
      assert.include(warnings[0]!.message, "1 process(es) still running 2000 ms after shutdown")
      assert.match(warnings[0]!.message, /stuck \S+ \(Stuck\)/)
      assert.notInclude(warnings[0]!.message, "Quick")
      assert.notInclude(warnings[0]!.message, ", ...", "one process: nothing more to say")
    }))

  it.scoped("past the shutdown timeout, the warning names the ten newest still running, newest first, then says there are more", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ process: { shutdownTimeout: "1 second" } })
      const Stuck = Process.make({ name: "Stuck", init: () => Effect.void, terminate: () => Effect.never })
      for (let i = 0; i < 12; i++) yield* env.spawn(Stuck, undefined, { name: `stuck${i}` })
      const stopping = yield* Effect.fork(env.node.stop)
      yield* TestClock.adjust("1 second")
      yield* within(Fiber.join(stopping), "node.stop after the shutdown timeout", 5)
      const [warning, ...more] = (yield* env.logs).filter((l) => l.message.startsWith("node stop:"))
      assert.strictEqual(more.length, 0)
      assert.include(warning!.message, "12 process(es) still running")
      const named = [...warning!.message.matchAll(/stuck(\d+)/g)].map((m) => Number(m[1]))
      assert.deepStrictEqual(named, [11, 10, 9, 8, 7, 6, 5, 4, 3, 2])
      assert.include(warning!.message, "(Stuck), ...")
      assert.strictEqual(warning!.annotations.killed, "12")
      assert.strictEqual(warning!.annotations.node, env.node.name)
    }))

  it.scoped("a stop whose caller is interrupted still runs to its end; a second stop waits for it", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Slow = Process.make({ name: "Slow", init: () => Effect.void, terminate: () => Effect.sleep("1 second") })
      yield* env.spawn(Slow, undefined)
      const first = yield* Effect.fork(env.node.stop)
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(first)
      const second = yield* Effect.fork(env.node.stop)
      yield* TestClock.adjust("1 second")
      yield* within(Fiber.join(second), "the second stop", 5)
      assert.strictEqual(kernelOf(env.node).procs.size, 0)
    }))

  it.scoped("process.shutdownTimeout that is not a duration is refused with InvalidNodeOption", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Node.start("bad@localhost", { process: { shutdownTimeout: "soon" as any } }))
      assert.strictEqual(error._tag, "InvalidNodeOption")
      assert.include(error.message, "process.shutdownTimeout")
      assert.include(error.message, "soon")
    }))

  it.scoped("init failure: spawn fails with InitFailed naming the behaviour; the name is released", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Broken = Process.make({ name: "Broken", init: () => Effect.fail("no config") })
      const error = yield* Effect.flip(env.spawn(Broken, undefined, { name: "broken" }))
      assert.strictEqual(error._tag, "InitFailed")
      assert.include(error.message, "Broken")
      assert.deepStrictEqual(yield* env.node.whereis("broken"), Option.none())
    }))

  it.scoped("asynchronous init and handlers; kill interrupts a running handler and skips terminate", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      let terminated = false
      const Slow = Process.make({
        name: "Slow",
        init: () => Effect.sleep("1 millis").pipe(Effect.as(0)),
        handleMessage: (_: string, s) => Effect.never.pipe(Effect.as(s)),
        terminate: () => Effect.sync(() => void (terminated = true))
      })
      const spawning = yield* Effect.fork(env.spawn(Slow, undefined))
      yield* TestClock.adjust("1 millis")
      const pid = yield* within(Fiber.join(spawning), "the asynchronous init", 5)
      yield* env.send(pid, "hang")
      yield* Effect.yieldNow()
      const info = Option.getOrThrow(yield* env.node.info(pid))
      assert.strictEqual(info.status, "waiting")
      yield* env.node.exit(pid, Process.ExitReason.kill)
      assert.strictEqual((yield* env.exitReason(pid))._tag, "killed")
      assert.isFalse(terminated)
    }))

  it.scoped("info and processes report status, names, mailbox, counters and links", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const relay = yield* env.spawnLink(Relay, env.probe, { name: "relay" })
      yield* env.send(relay, "one")
      yield* env.receive()
      const info = Option.getOrThrow(yield* env.node.info(relay))
      assert.strictEqual(info.behaviour, "Relay")
      assert.strictEqual(info.name, "relay")
      assert.strictEqual(info.status, "idle")
      assert.strictEqual(info.messagesIn, 1)
      assert.strictEqual(info.messagesOut, 1)
      assert.deepStrictEqual(info.links, [env.probe])
      assert.deepStrictEqual(info.mailbox, { urgent: 0, system: 0, main: 0, log: 0 })
      const all = yield* env.node.processes
      assert.deepStrictEqual(all.map((p) => p.behaviour), ["Probe", "Relay"])
      const metrics = yield* env.node.metrics
      assert.strictEqual(metrics.processCount, 2)
      assert.isTrue(metrics.messagesIn >= 1)
      assert.strictEqual(metrics.messagesOut, 1, "the relay's one send")
    }))

  it.scoped("logs from handlers carry pid, name and node annotations", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Logs = Process.make({
        name: "Logs",
        init: () => Effect.void,
        handleMessage: (msg: string, s) => Effect.as(Effect.logInfo(`got ${msg}`), s)
      })
      const pid = yield* env.spawn(Logs, undefined, { name: "logger" })
      yield* env.send(pid, "hello")
      yield* env.send(env.probe, "sync")
      yield* env.receive()
      const logs = yield* env.logs
      const line = logs.find((l) => l.message === "got hello")
      assert.isDefined(line)
      assert.strictEqual(line!.annotations.pid, pid.toString())
      assert.strictEqual(line!.annotations.name, "logger")
      assert.strictEqual(line!.annotations.node, env.node.name)
    }))
})

describe("spawnTimeout", () => {
  it.scoped("an init slower than spawnTimeout is killed and spawn fails with InitFailed", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("slow@localhost", { process: { spawnTimeout: "1 second" } })
      const Sleepy = Process.make({ name: "Sleepy", init: () => Effect.never })
      const spawning = yield* Effect.fork(Effect.flip(node.spawn(Sleepy, undefined, { name: "sleepy" })))
      yield* TestClock.adjust("1001 millis")
      const error = yield* within(Fiber.join(spawning), "spawn to fail at spawnTimeout", 5)
      assert.strictEqual(error._tag, "InitFailed")
      assert.include(error.message, "spawnTimeout")
      assert.strictEqual(kernelOf(node).procs.size, 0)
      assert.deepStrictEqual(yield* node.whereis("sleepy"), Option.none())
    }))

  it.live("spawnTimeout \"infinity\" sets no limit: a slow init finishes (live clock)", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* Node.start("patient@localhost", { process: { spawnTimeout: "infinity" } })
      const Slow = Process.make({ name: "Slow", init: () => Effect.as(Effect.sleep("50 millis"), "ready") })
      const pid = yield* within(node.spawn(Slow, undefined), "the slow init to finish", 5)
      assert.isDefined(kernelOf(node).lookup(pid))
    })))
})

describe("behaviour bugs", () => {
  it.scoped("a handler that returns a plain value crashes its process with a message that says what to do", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Bad = Process.make({
        name: "Bad",
        init: () => Effect.succeed(0),
        handleMessage: ((_: number, s: number) => s + 1) as unknown as (m: number, s: number) => Effect.Effect<number>
      })
      const pid = yield* env.spawn(Bad, undefined)
      yield* env.send(pid, 1)
      const reason = yield* env.exitReason(pid)
      assert.include(Process.ExitReason.format(reason), "Effect.succeed(state)")
      yield* env.send(env.probe, "node fine")
      assert.strictEqual(yield* env.receive(), "node fine")
    }))
})

describe("log options", () => {
  it.scoped("the node's log level filters what processes log", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { level: "Warning" } })
      const Chatty = Process.make({
        name: "Chatty",
        init: () => Effect.void,
        handleMessage: (_: string, s) => Effect.all([Effect.logInfo("info line"), Effect.logWarning("warning line")]).pipe(Effect.as(s))
      })
      const pid = yield* env.spawn(Chatty, undefined)
      yield* env.send(pid, "go")
      yield* env.send(env.probe, "sync")
      yield* env.receive()
      const messages = (yield* env.logs).map((l) => l.message)
      assert.include(messages, "warning line")
      assert.notInclude(messages, "info line")
    }))
})
