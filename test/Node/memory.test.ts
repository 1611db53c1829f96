import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, TestClock } from "effect"
import type { Process as P } from "../../src/index.js"
import { Process, Supervisor, Testing } from "../../src/index.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"
import { childPid } from "../Supervisor/helpers.js"

/** Holds every message until the gate opens (its first handler waits), then counts them. */
const makeSink = (gate: Deferred.Deferred<void>) =>
  Process.make({
    name: "Sink",
    init: () => Effect.succeed(0),
    handleMessage: (_: number, count: number) => Deferred.await(gate).pipe(Effect.as(count + 1)),
    handleCall: (_: "count", _from, count: number) => Effect.succeed(Process.reply(count, count))
  })

interface Flood {
  readonly sink: P.Pid
  /** How each flooder stopped (a send to the probe would be refused too). */
  readonly results: Array<{ readonly sent: number; readonly error: string }>
}

/** Sends to `sink` until refused, then records how many it sent and why it stopped. */
const Flooder = Process.make({
  name: "Flooder",
  init: (args: Flood) => Effect.succeed(args),
  handleMessage: Effect.fnUntraced(function*(_: "go", s: Flood, ctx: P.Context<"go">) {
    let sent = 0
    for (;;) {
      const r = yield* Effect.either(ctx.send(s.sink, sent))
      if (r._tag === "Left") {
        s.results.push({ sent, error: r.left._tag })
        return s
      }
      sent++
      // Let the sampler's timer and the other flooders in.
      if (sent % 100 === 0) yield* Effect.yieldNow()
    }
  })
})

describe("limits.maxMemory", () => {
  it.scoped("a flooded node stays alive, refuses with MemoryLimit above the limit, and recovers below 90%", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ limits: { maxMemory: 1_000_000, memoryCheckInterval: "100 millis" } })
      const kernel = kernelOf(env.node)
      // The seam: the "heap" is 100 bytes per queued message plus a base, so flooding fills it.
      const queued = () => Array.from(kernel.procs.values()).reduce((n, p) => n + p.mailboxLength(), 0)
      let base = 200_000
      kernel.memory!.sample = () => base + queued() * 100
      const gate = yield* Deferred.make<void>()
      const sink = yield* env.spawn(makeSink(gate), undefined)
      const results: Flood["results"] = []
      const flooders = []
      for (let i = 0; i < 4; i++) flooders.push(yield* env.spawn(Flooder, { sink, results }))
      for (const f of flooders) yield* env.send(f, "go")
      // Sample while the flood runs, until every flooder has been refused.
      for (let i = 0; i < 500 && results.length < 4; i++) {
        yield* TestClock.adjust("100 millis")
        yield* Effect.yieldNow()
      }
      assert.isTrue((yield* env.node.metrics).memory?.shedding, "the node went above its limit")
      assert.deepStrictEqual(results.map((r) => r.error), ["MemoryLimit", "MemoryLimit", "MemoryLimit", "MemoryLimit"])
      const accepted = results.reduce((n, r) => n + r.sent, 0)
      // Refused while above: spawn, trySend (with the tagged error and its message), and node.send waits.
      const spawnError = yield* Effect.flip(env.spawn(makeSink(gate), undefined))
      assert.strictEqual(spawnError._tag, "MemoryLimit")
      const sendError = yield* Effect.flip(env.node.trySend(sink, -1))
      assert.strictEqual(sendError._tag, "MemoryLimit")
      assert.include(sendError.message, "limits.maxMemory")
      const waiting = yield* Effect.fork(env.node.send(sink, -2))
      yield* Effect.yieldNow()
      assert.isNull(waiting.unsafePoll(), "node.send waits while the node is above its limit")
      // The warning names the process with the largest mailbox.
      const warning = (yield* env.logs).find((l) => l.message.includes("memory above limits.maxMemory"))
      assert.isDefined(warning)
      assert.include(warning!.message, sink.toString())
      // Calls and system messages still work: the node is alive.
      assert.isTrue(Option.isSome(yield* env.node.info(sink)))
      // The flood stops and the sink drains: below 90% the node accepts again by itself.
      yield* Deferred.succeed(gate, undefined)
      base = 0
      // A call is not refused (it is a request, not load): when it returns, the sink has drained.
      assert.strictEqual(yield* env.call(sink, "count"), accepted)
      yield* TestClock.adjust("100 millis")
      assert.isFalse((yield* env.node.metrics).memory?.shedding)
      yield* Fiber.join(waiting)
      yield* env.node.trySend(sink, -3)
      yield* env.spawn(makeSink(gate), undefined)
      // Nothing accepted was lost: every accepted message, plus the waiting one and the last.
      assert.strictEqual(yield* env.call(sink, "count"), accepted + 2)
      assert.isTrue((yield* env.logs).some((l) => l.message.includes("memory back below 90%")))
    }))

  it.scoped("above the limit a supervisor still restarts a crashed child (shedding load, not the tree)", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ limits: { maxMemory: 1_000, memoryCheckInterval: "100 millis" } })
      const Quiet = Process.make({ name: "Quiet", init: () => Effect.void })
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.oneForOne({ intensity: 1 }).pipe(Supervisor.child({ id: "q", behaviour: Quiet, args: undefined }))
      )
      const child = (yield* childPid(env, sup, "q"))!
      kernelOf(env.node).memory!.sample = () => 2_000
      yield* TestClock.adjust("100 millis")
      assert.strictEqual((yield* Effect.flip(env.spawn(Quiet, undefined)))._tag, "MemoryLimit")
      yield* env.node.exit(child, Process.ExitReason.error("crash"))
      assert.strictEqual((yield* env.exitReason(child))._tag, "error")
      const restarted = yield* childPid(env, sup, "q")
      assert.isDefined(restarted, "the supervisor restarted its child")
      assert.notDeepEqual(restarted, child)
    }))

  it.scoped("a bad limit is a tagged error that names the option", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Testing.make({ limits: { maxMemory: -5 } }))
      assert.strictEqual(error._tag, "InvalidNodeOption")
      assert.include(error.message, "limits.maxMemory")
    }))

  it.scopedLive("with the real heap sampler, a limit below the current heap makes the node shed load", () =>
    Effect.gen(function*() {
      const heap = process.memoryUsage().heapUsed
      const env = yield* Testing.make({ limits: { maxMemory: Math.floor(heap / 2), memoryCheckInterval: "10 millis" } })
      let error: string | undefined
      for (let i = 0; i < 100 && error === undefined; i++) {
        yield* Effect.sleep("10 millis")
        const r = yield* Effect.either(env.spawn(Process.make({ name: "Idle", init: () => Effect.void }), undefined))
        if (r._tag === "Left") error = r.left._tag
      }
      assert.strictEqual(error, "MemoryLimit")
      const metrics = yield* env.node.metrics
      assert.isTrue(metrics.memory!.sampled > metrics.memory!.limit)
      // Still alive: its processes answer.
      assert.isTrue(Option.isSome(yield* env.node.info(env.probe)))
    }))
})

/** Holds its messages: its one handler waits on the gate. */
const Holding = (gate: Deferred.Deferred<void>) =>
  Process.make({
    name: "Holding",
    init: () => Effect.void,
    handleMessage: (_: number) => Deferred.await(gate)
  })

describe("the memory guard at its edges", () => {
  it.scoped("sheds above the limit (not at it) and recovers below 90% (not at it); a refusal says the figures", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ limits: { maxMemory: 1_000, memoryCheckInterval: "1 hour" } })
      const kernel = kernelOf(env.node)
      const guard = kernel.memory!
      let used = 1_000
      guard.sample = () => used
      guard.check()
      assert.isFalse(kernel.memoryHigh, "at the limit: not above it")
      used = 1_001
      guard.check()
      assert.isTrue(kernel.memoryHigh)
      const refusal = guard.refusal()
      assert.include(refusal, { node: env.node.name, limit: 1_000, used: 1_001 })
      assert.strictEqual(guard.refusal(), refusal, "one error per episode")
      used = 900
      guard.check()
      assert.isTrue(kernel.memoryHigh, "at 90%: still shedding")
      used = 2_000
      guard.check()
      assert.isTrue(kernel.memoryHigh, "still above: no second warning")
      used = 899
      guard.check()
      assert.isFalse(kernel.memoryHigh, "below 90%: recovered")
      used = 950
      guard.check()
      assert.isFalse(kernel.memoryHigh, "between 90% and the limit: stays accepting")
      const logs = (yield* env.logs).filter((l) => l.message.includes("limits.maxMemory"))
      assert.deepStrictEqual(logs.map((l) => l.level), ["WARN", "INFO"])
      assert.include(logs[0]!.annotations, { used: "1001", limit: "1000" })
      assert.include(logs[1]!.annotations, { used: "899", limit: "1000" })
      // a new episode has its own error, with its own figures
      used = 1_500
      guard.check()
      assert.include(guard.refusal(), { used: 1_500 })
    }))

  it.scoped("the mailbox estimate counts every queued message and names the five largest mailboxes, largest first", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ limits: { maxMemory: 1_000, memoryCheckInterval: "1 hour" } })
      const kernel = kernelOf(env.node)
      const gate = yield* Deferred.make<void>()
      const sizes = [3, 9, 1, 7, 5, 11, 2]
      const pids: Array<P.Pid> = []
      for (const size of sizes) {
        const pid = yield* env.spawn(Holding(gate), undefined)
        pids.push(pid)
        // the first message is taken (its handler waits); the rest stay queued
        for (let i = 0; i <= size; i++) yield* env.send(pid, i)
      }
      yield* Effect.yieldNow()
      // messages in the other lanes count too (each process is in its first handler, waiting)
      yield* env.node.send(pids[0]!, 100, "urgent")
      yield* env.node.send(pids[0]!, 101, "log")
      assert.deepStrictEqual(Option.getOrThrow(yield* env.node.info(pids[0]!)).mailbox, { urgent: 1, system: 0, main: 3, log: 1 })
      const { bytes, largest } = kernel.memory!.mailboxes()
      const total = sizes.reduce((a, b) => a + b, 0) + 2
      assert.strictEqual(bytes, total * 64)
      assert.deepStrictEqual(largest.map((p) => p.mailboxLength()), [11, 9, 7, 5, 5])
      assert.deepStrictEqual((yield* env.node.metrics).memoryBreakdown.mailboxBytes, total * 64)
      kernel.memory!.sample = () => 2_000
      kernel.memory!.check()
      const warning = (yield* env.logs).find((l) => l.level === "WARN" && l.message.includes("limits.maxMemory"))!
      assert.include(warning.message, `Mailboxes hold about ${total * 64} bytes`)
      const named = String(warning.annotations.largest).split("; ")
      assert.strictEqual(named.length, 5)
      assert.include(named[0], `${pids[5]!.toString()}`)
      assert.include(named[0], "11 messages")
      yield* Deferred.succeed(gate, undefined)
    }))

  it.scoped("a send waiting for the node to recover that is interrupted leaves the line; the others go on recovery", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ limits: { maxMemory: 1_000, memoryCheckInterval: "1 hour" } })
      const kernel = kernelOf(env.node)
      const guard = kernel.memory!
      const woken: Array<string> = []
      const cancelA = guard.whenBelow(() => woken.push("a"))
      guard.whenBelow(() => woken.push("b"))
      const cancelC = guard.whenBelow(() => woken.push("c"))
      cancelA()
      cancelA() // twice is once
      guard.sample = () => 2_000
      guard.check()
      guard.sample = () => 10
      guard.check()
      assert.deepStrictEqual(woken, ["b", "c"])
      cancelC() // after it was woken: nothing
      assert.deepStrictEqual(woken, ["b", "c"])
      // with no mailbox queued, the warning says so
      guard.sample = () => 2_000
      guard.check()
      const warnings = (yield* env.logs).filter((l) => l.level === "WARN" && l.message.includes("limits.maxMemory"))
      assert.include(warnings.at(-1)!.message, "the largest: none")
    }))
})
