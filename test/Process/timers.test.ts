import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { Process, Testing } from "../../src/index.js"

type TickCommand = { readonly every: number } | "cancel" | "tick"

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

  it.scoped("timers to a process die with it", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const ticker = yield* env.spawn(Ticker, env.probe)
      yield* env.send(ticker, { every: 1000 })
      yield* env.node.exit(ticker, Process.ExitReason.kill)
      yield* env.exitReason(ticker)
      yield* TestClock.adjust("5 seconds")
      yield* env.expectNoMessage("5 millis")
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
