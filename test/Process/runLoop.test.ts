import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Option } from "effect"
import type { AsyncTarget } from "../../src/Process/internal/runLoop.js"
import {
  checkAssumptions,
  currentMode,
  isExit,
  probe,
  runEffect,
  setMode,
  stackDepth
} from "../../src/Process/internal/runLoop.js"

class Greeting extends Context.Tag("Greeting")<Greeting, string>() {}

const target = (): AsyncTarget & { exits: Array<Exit.Exit<unknown, unknown>> } => {
  const exits: Array<Exit.Exit<unknown, unknown>> = []
  return { exits, resume: (exit) => exits.push(exit), wrap: (effect) => effect }
}

const cases: ReadonlyArray<readonly [string, () => Effect.Effect<unknown, unknown, never>]> = [
  ["succeed", () => Effect.succeed(1)],
  ["sync", () => Effect.sync(() => 2)],
  ["flatMap chain", () => Effect.succeed(1).pipe(Effect.flatMap((n) => Effect.sync(() => n + 1)), Effect.map((n) => n * 10))],
  ["gen", () => Effect.gen(function*() {
    const a = yield* Effect.succeed(1)
    const b = yield* Effect.sync(() => 2)
    return a + b
  })],
  ["fnUntraced", () => Effect.fnUntraced(function*(n: number) {
    return (yield* Effect.succeed(n)) * 2
  })(21)],
  ["fail", () => Effect.fail("boom")],
  ["catchAll", () => Effect.fail("boom").pipe(Effect.catchAll((e) => Effect.succeed(`caught ${e}`)))],
  ["catchAllCause of a throw", () => Effect.sync(() => { throw new Error("x") }).pipe(Effect.catchAllCause(() => Effect.succeed("recovered")))],
  ["throw in sync is a defect", () => Effect.sync(() => { throw new Error("defect") })],
  ["throw in gen body is a defect", () => Effect.gen(function*() {
    yield* Effect.succeed(1)
    throw new Error("in gen")
  })],
  ["match", () => Effect.fail(1).pipe(Effect.match({ onFailure: (n) => n + 1, onSuccess: () => 0 }))],
  ["gen yielding a failure", () => Effect.gen(function*() {
    yield* Effect.fail("nope")
    return 1
  })],
  ["option in gen (fallback path)", () => Effect.gen(function*() {
    const n = yield* Option.some(5)
    return n + 1
  })],
  ["log (fallback path)", () => Effect.log("hello").pipe(Effect.as(7))],
  ["service (fallback path)", () => Effect.gen(function*() {
    const pre = yield* Effect.succeed("hello")
    const g = yield* Greeting
    return `${pre} ${g}`
  }).pipe(Effect.provideService(Greeting, "world"))],
  ["fallback in the middle of a gen", () => Effect.gen(function*() {
    const a = yield* Effect.succeed(1)
    yield* Effect.yieldNow()
    const b = yield* Effect.sync(() => 2)
    return a + b
  })]
]

const modes = ["fast", "fiber"] as const

describe("runLoop", () => {
  for (const mode of modes) for (const [name, make] of cases) {
    it.effect(`${mode} path, same result as the fiber runtime: ${name}`, () =>
      Effect.gen(function*() {
        setMode(mode)
        const expected = yield* Effect.exit(make())
        const t = target()
        const runtime = yield* Effect.runtime<never>()
        const result = runEffect(make(), runtime, t)
        let actual: Exit.Exit<unknown, unknown>
        if (isExit(result)) actual = result
        else actual = yield* Fiber.await(result)
        assert.strictEqual(stackDepth(), 0)
        assert.strictEqual(actual._tag, expected._tag)
        if (Exit.isSuccess(actual) && Exit.isSuccess(expected)) assert.deepStrictEqual(actual.value, expected.value)
        if (Exit.isFailure(actual) && Exit.isFailure(expected)) {
          assert.strictEqual(String(actual.cause).split("\n")[0], String(expected.cause).split("\n")[0])
        }
      }))
  }

  it.effect("synchronous effects never start a fiber (fast path)", () =>
    Effect.gen(function*() {
      setMode("fast")
      const runtime = yield* Effect.runtime<never>()
      const result = runEffect(Effect.gen(function*() {
        return (yield* Effect.succeed(1)) + 1
      }), runtime, target())
      assert.isTrue(isExit(result))
    }))

  it.effect("on the fallback path every effect runs on a fiber, and the target learns its exit", () =>
    Effect.gen(function*() {
      setMode("fiber")
      const runtime = yield* Effect.runtime<never>()
      const t = target()
      const result = runEffect(Effect.succeed(1), runtime, t)
      assert.isFalse(isExit(result))
      assert.deepStrictEqual(yield* Fiber.await(result as Fiber.RuntimeFiber<unknown, unknown>), Exit.succeed(1))
      yield* Effect.yieldNow()
      assert.strictEqual(t.exits.length, 1)
    }))

  it.effect("the assumptions hold on the installed effect: every probe agrees with the fiber runtime", () =>
    Effect.sync(() => {
      assert.strictEqual(probe(), undefined)
      setMode(undefined)
      assert.strictEqual(checkAssumptions(), "fast")
    }))

  it.live("a probe the stepper cannot run synchronously sends Rain to the fallback path with one warning", () =>
    Effect.gen(function*() {
      const warnings: Array<Error> = []
      const onWarning = (w: Error) => warnings.push(w)
      process.on("warning", onWarning)
      try {
        // Effect.yieldNow needs a fiber: as if a newer effect had renamed an instruction the stepper reads
        const needsFiber = [["yieldNow", () => Effect.yieldNow()]] as const
        assert.match(probe(needsFiber) ?? "", /yieldNow.*does not know/)
        // a different result is caught too, not only an unknown instruction (here: a counter, run twice)
        let runs = 0
        assert.match(probe([["counter", () => Effect.sync(() => ++runs)]]) ?? "", /counter[\s\S]*gave[\s\S]*the fiber runtime/)
        assert.strictEqual(checkAssumptions(needsFiber), "fiber")
        yield* Effect.sleep(20)
        const ours = warnings.filter((w) => (w as { code?: string }).code === "RAIN_RUNLOOP_FALLBACK")
        assert.strictEqual(ours.length, 1)
        assert.match(ours[0].message, /does not recognise this version of effect \(3\.\d+\.\d+\)/)
        assert.match(ours[0].message, /slower/)
      } finally {
        process.off("warning", onWarning)
      }
    }))

  it.effect("RAIN_RUNLOOP=fiber forces the fallback path without a warning; the first run checks once", () =>
    Effect.gen(function*() {
      const runtime = yield* Effect.runtime<never>()
      const saved = process.env.RAIN_RUNLOOP
      process.env.RAIN_RUNLOOP = "fiber"
      try {
        setMode(undefined)
        const result = runEffect(Effect.succeed(1), runtime, target())
        assert.strictEqual(currentMode(), "fiber")
        assert.isFalse(isExit(result))
        assert.deepStrictEqual(yield* Fiber.await(result as Fiber.RuntimeFiber<unknown, unknown>), Exit.succeed(1))
      } finally {
        if (saved === undefined) delete process.env.RAIN_RUNLOOP
        else process.env.RAIN_RUNLOOP = saved
      }
      setMode(undefined)
      assert.isTrue(isExit(runEffect(Effect.succeed(2), runtime, target())))
      assert.strictEqual(currentMode(), "fast")
    }))

  it.live("an asynchronous effect resumes its target with the exit", () =>
    Effect.gen(function*() {
      setMode("fast")
      const runtime = yield* Effect.runtime<never>()
      const t = target()
      const result = runEffect(Effect.sleep(1).pipe(Effect.as("late")), runtime, t)
      assert.isFalse(isExit(result))
      const exit = yield* Fiber.await(result as Fiber.RuntimeFiber<unknown, unknown>)
      assert.deepStrictEqual(exit, Exit.succeed("late"))
      assert.strictEqual(t.exits.length, 1)
    }))
})
