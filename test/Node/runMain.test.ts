/**
 * `Node.runMain`'s main-program rules in this OS process (test/Node/run.test.ts runs real
 * programs in child processes): `process.exit` is stubbed, signals are emitted by hand.
 */
import { afterEach, assert, describe, it, vi } from "@effect/vitest"
import { Deferred, Effect, FiberRef, HashSet, Logger } from "effect"
import { runMain } from "../../src/Node/internal/runMain.js"

const signals = () => [process.listenerCount("SIGINT"), process.listenerCount("SIGTERM")]

/** Runs `program` under runMain; resolves once its fiber has ended (and runMain's observer ran). */
const run = <E>(program: Effect.Effect<void, E>) =>
  new Promise<void>((resolve) => {
    runMain(Effect.ensuring(program, Effect.sync(() => setImmediate(resolve))))
  })

describe("runMain", () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it("a program that ends by itself: no exit call, its signal handlers gone, the pretty logger in place of the default", async () => {
    const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as never)
    const before = signals()
    let loggers: HashSet.HashSet<Logger.Logger<unknown, any>> | undefined
    let during: Array<number> = []
    await run(Effect.gen(function*() {
      loggers = yield* FiberRef.get(FiberRef.currentLoggers)
      during = signals()
    }))
    assert.deepStrictEqual(during, before.map((n) => n + 1), "listening while the program runs")
    assert.deepStrictEqual(signals(), before)
    assert.strictEqual(exit.mock.calls.length, 0)
    assert.isTrue(HashSet.has(loggers!, Logger.prettyLoggerDefault))
    assert.isFalse(HashSet.has(loggers!, Logger.defaultLogger))
  })

  it("a failure is logged and exits with code 1", async () => {
    const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as never)
    const logged: Array<string> = []
    vi.spyOn(console, "error").mockImplementation((...args: Array<unknown>) => void logged.push(args.map(String).join(" ")))
    vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => void logged.push(args.map(String).join(" ")))
    const before = signals()
    await run(Effect.fail("the program broke"))
    assert.deepStrictEqual(exit.mock.calls, [[1]])
    assert.deepStrictEqual(signals(), before)
    assert.isTrue(logged.some((line) => line.includes("the program broke")), logged.join("\n"))
  })

  it("an interruption that is not a signal's ends quietly: no log, no exit call", async () => {
    const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as never)
    // Effect's loggers write through either of these
    const error = vi.spyOn(console, "error")
    const log = vi.spyOn(console, "log")
    await run(Effect.interrupt)
    assert.strictEqual(exit.mock.calls.length, 0)
    assert.strictEqual(error.mock.calls.length + log.mock.calls.length, 0)
  })

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal} interrupts the program (its finalizers run) and exits with code 0`, async () => {
      const exit = vi.spyOn(process, "exit").mockImplementation((() => undefined) as never)
      const before = signals()
      let resolveStarted = () => {}
      const started = new Promise<void>((resolve) => (resolveStarted = resolve))
      let finalized = false
      const done = run(Effect.gen(function*() {
        const never = yield* Deferred.make<void>()
        yield* Effect.sync(() => resolveStarted())
        yield* Deferred.await(never)
      }).pipe(Effect.onInterrupt(() => Effect.sync(() => void (finalized = true)))))
      await started
      process.emit(signal)
      await done
      assert.isTrue(finalized)
      assert.deepStrictEqual(exit.mock.calls, [[0]])
      assert.deepStrictEqual(signals(), before, "the handlers went with the first signal")
    })
  }
})
