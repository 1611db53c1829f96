import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Fiber, TestClock } from "effect"
import { Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import { clockTimerCount, liveClockTimers, Relay } from "./helpers.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"
import { sendAfter } from "../../src/Node/internal/timers.js"

type TickCommand = { readonly every: number } | "cancel" | "tick"

/** Sets a timer of `after` ms to itself and tells `probe` "armed". */
const Armed = Process.make({
  name: "Armed",
  init: (probe: Process.Pid) => Effect.succeed(probe),
  handleMessage: (after: number, probe, ctx) =>
    ctx.sendAfter(ctx.self, after, after).pipe(Effect.zipRight(ctx.send(probe, "armed")), Effect.as(probe))
})

const Ticker = Process.make({
  name: "Ticker",
  init: (probe: Process.Pid) => Effect.succeed({ probe, timer: undefined as Process.Timer | undefined, ticks: 0, every: 0 }),
  handleMessage: (msg: TickCommand, s, ctx) =>
    Effect.gen(function*() {
      if (msg === "tick") {
        yield* ctx.send(s.probe, `tick ${s.ticks + 1}`)
        const timer = yield* ctx.sendAfter(ctx.self, "tick", s.every)
        return { ...s, ticks: s.ticks + 1, timer }
      }
      if (msg === "cancel") {
        const cancelled = s.timer ? yield* ctx.cancelTimer(s.timer) : false
        yield* ctx.send(s.probe, `cancelled ${cancelled}`)
        return s
      }
      const timer = yield* ctx.sendAfter(ctx.self, "tick", msg.every)
      return { ...s, every: msg.every, timer }
    })
})

describe("timers", () => {
  it.scoped("sendAfter fires on Clock time, driven by TestClock", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const ticker = yield* env.spawn(Ticker, env.probe)
      yield* env.send(ticker, { every: 1000 })
      yield* TestClock.adjust("999 millis")
      yield* env.expectNoMessage("5 millis")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* env.receive(), "tick 1")
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual(yield* env.receive(), "tick 2")
      assert.strictEqual(yield* env.receive(), "tick 3")
      assert.strictEqual(yield* env.receive(), "tick 4")
    }))

  it.scoped("a cancelled timer never fires", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const ticker = yield* env.spawn(Ticker, env.probe)
      yield* env.send(ticker, { every: 1000 })
      yield* env.send(ticker, "cancel")
      assert.strictEqual(yield* env.receive(), "cancelled true")
      yield* TestClock.adjust("5 seconds")
      yield* env.expectNoMessage("5 millis")
    }))

  it.scoped("timers to a process die with it: the timer is cancelled, not left to fire into nothing", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const armed = yield* env.spawn(Armed, env.probe)
      yield* env.send(armed, 1000)
      assert.strictEqual(yield* env.receive(), "armed")
      assert.strictEqual(clockTimerCount(env.node), 1)
      yield* env.node.exit(armed, Process.ExitReason.kill)
      assert.strictEqual((yield* env.exitReason(armed))._tag, "killed")
      assert.strictEqual(clockTimerCount(env.node), 0, "the dead process's timer left the clock-timer heap")
      yield* TestClock.adjust("5 seconds")
      yield* env.expectNoMessage("5 millis")
    }))

  it.scoped("1,000 processes killed with timers set leave no cancelled entries in the clock-timer heap", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pids: Array<Process.Pid> = []
      for (let i = 0; i < 1000; i++) {
        const pid = yield* env.spawn(Armed, env.probe)
        yield* env.send(pid, 60_000 + i)
        pids.push(pid)
      }
      for (let i = 0; i < 1000; i++) assert.strictEqual(yield* env.receive(), "armed")
      // 1,000 armed; the heap may also hold cancelled entries up to as many as the live ones (an
      // init that ran on a fiber leaves its cancelled spawn timeout), never more
      assert.strictEqual(liveClockTimers(env.node), 1000)
      assert.isAtMost(clockTimerCount(env.node), 2000)
      const survivor = yield* env.spawn(Relay, env.probe)
      for (const pid of pids) yield* env.node.exit(pid, Process.ExitReason.kill)
      for (const pid of pids) yield* env.exitReason(pid)
      assert.strictEqual(clockTimerCount(env.node), 0, "cancelled timers are dropped from the heap")
      // the heap still works: a timer set now fires on time
      const timer = yield* Effect.sync(() => sendAfter(kernelOf(env.node), undefined, survivor, "late", "2 seconds"))
      assert.strictEqual(clockTimerCount(env.node), 1)
      yield* TestClock.adjust("1999 millis")
      yield* env.expectNoMessage("5 millis")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* env.receive(), "late")
      assert.isFalse(yield* timer.cancel)
      assert.strictEqual(clockTimerCount(env.node), 0)
    }))

  it.scoped("a timer leaves nothing in its target's record once fired or cancelled; cancelled with its dead target, it cancels no more", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const target = yield* env.spawn(Relay, env.probe)
      const proc = kernel.lookup(target)!
      const fires = sendAfter(kernel, undefined, target, "fired", "1 second")
      const dropped = sendAfter(kernel, undefined, target, "never", "2 seconds")
      assert.strictEqual(proc.timers?.size, 2)
      assert.isTrue(yield* dropped.cancel)
      assert.isFalse(yield* dropped.cancel, "cancelled once")
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* env.receive(), "fired")
      assert.isFalse(yield* fires.cancel, "it fired")
      assert.strictEqual(proc.timers?.size ?? 0, 0)
      const orphan = sendAfter(kernel, undefined, target, "never", "1 second")
      yield* env.node.exit(target, Process.ExitReason.kill)
      yield* env.exitReason(target)
      assert.isFalse(yield* orphan.cancel, "its target's death cancelled it")
      yield* TestClock.adjust("1 second")
      yield* env.expectNoMessage("5 millis")
    }))

  it.scoped("a timer to a name nobody holds yet is sent by name when it fires", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      sendAfter(kernelOf(env.node), undefined, "late", "hello", "1 second")
      yield* env.spawn(Relay, env.probe, { name: "late" })
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* env.receive(), "hello")
    }))

  it.scopedLive("on the live clock, a cancelled timer is never delivered and a kept one is", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      assert.isTrue(kernel.options.liveClock)
      const cancelled = sendAfter(kernel, undefined, env.probe, "cancelled", "20 millis")
      sendAfter(kernel, undefined, env.probe, "kept", "40 millis")
      assert.isTrue(yield* cancelled.cancel)
      assert.strictEqual(yield* env.receive("2 seconds"), "kept")
      yield* env.expectNoMessage("10 millis")
    }))

  it.scoped("a timer to a name nobody holds can be cancelled, once", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const timer = sendAfter(kernelOf(env.node), undefined, "later", "hello", "1 second")
      assert.isTrue(yield* timer.cancel)
      assert.isFalse(yield* timer.cancel, "cancelled already")
      yield* env.spawn(Relay, env.probe, { name: "later" })
      yield* TestClock.adjust("1 second")
      yield* env.expectNoMessage("5 millis")
    }))

  it.scoped("the test kit's receive gives up after its timeout of Clock time, and its answered waits leave one TestClock sleep", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const waiting = yield* Effect.fork(Effect.either(env.receive("1 second")))
      yield* TestClock.adjust("999 millis")
      assert.isNull(waiting.unsafePoll(), "still waiting at 999 ms")
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(waiting)
      assert.isTrue(Either.isLeft(result) && result.left._tag === "NoMessage", `gave up at 1 s: ${JSON.stringify(result)}`)
      const before = Chunk.size(yield* TestClock.sleeps())
      for (let i = 0; i < 1000; i++) {
        yield* env.send(env.probe, i)
        assert.strictEqual(yield* env.receive(), i)
      }
      // An interrupted Effect.timeout would leave each of its sleeps in TestClock's list until
      // the clock passed it (and adjusting past a thousand took seconds).
      assert.isAtMost(Chunk.size(yield* TestClock.sleeps()) - before, 1)
    }))

  it.scoped("setTimeout delivers IdleTimeout after idleness, and any message resets it", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Idler = Process.make({
        name: "Idler",
        init: () => Effect.void,
        handleMessage: (msg: string, s, ctx) =>
          Effect.all([ctx.send(env.probe, msg), ctx.setTimeout("1 second")]).pipe(Effect.as(s)),
        handleInfo: (info, s, ctx) => Effect.as(ctx.send(env.probe, info._tag), s)
      })
      const pid = yield* env.spawn(Idler, undefined)
      yield* env.send(pid, "a")
      assert.strictEqual(yield* env.receive(), "a")
      yield* TestClock.adjust("900 millis")
      yield* env.send(pid, "b")
      assert.strictEqual(yield* env.receive(), "b")
      yield* TestClock.adjust("900 millis")
      yield* env.expectNoMessage("5 millis")
      yield* TestClock.adjust("100 millis")
      assert.strictEqual(yield* env.receive(), "IdleTimeout")
    }))
})
