/**
 * Calls through a `Pool` of 4 workers beside the same calls straight to one process, in the
 * same process and run, rounds alternating so that drift hits both alike. Both sides: 100
 * concurrent callers (`node.call`), a handler that answers at once, every answer checked.
 * Prints `{"pool": n, "direct": n}` (calls/s, medians of the rounds).
 *
 *   node --import tsx bench/pool.ts [--quick]
 *
 * On one JS thread 4 workers add no parallelism: the figure is the pool's forwarding cost
 * (one extra enqueue and dispatch per call; the reply goes straight back to the caller).
 */
import { Effect, Logger, LogLevel } from "effect"
import { Node, Pool, Process } from "../src/index.js"

const quick = process.argv.includes("--quick")
const CALLERS = 100
const callsPerRound = quick ? 20_000 : 200_000
const rounds = quick ? 2 : 5

const Square = Process.make({
  name: "Square",
  init: () => Effect.succeed(0),
  handleCall: (n: number, _from, count: number) => Effect.succeed(Process.reply(n * n, count + 1))
})

const median = (values: ReadonlyArray<number>) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const program = Effect.scoped(Effect.gen(function*() {
  const node = yield* Node.start("bench@localhost")
  const pool = yield* node.spawn(
    Pool.make({ worker: Square, args: undefined, size: 4, workerMailboxSize: 1000, mailboxSize: 10_000 }),
    undefined
  )
  const direct = yield* node.spawn(Square, undefined)
  /** calls/s of CALLERS concurrent callers making `callsPerRound` calls in all to `to`. */
  const measure = (to: Process.Pid) =>
    Effect.gen(function*() {
      const per = callsPerRound / CALLERS
      const t = performance.now()
      yield* Effect.forEach(
        Array.from({ length: CALLERS }, (_, c) => c),
        (c) =>
          Effect.gen(function*() {
            for (let i = 0; i < per; i++) {
              const n = c * per + i
              const answer = yield* node.call(to, n)
              if (answer !== n * n) throw new Error(`verification failed: ${n}^2 answered ${answer}`)
            }
          }),
        { concurrency: "unbounded", discard: true }
      )
      return callsPerRound / ((performance.now() - t) / 1000)
    })
  yield* measure(pool) // warm-up
  yield* measure(direct)
  const pooled: Array<number> = []
  const straight: Array<number> = []
  for (let r = 0; r < rounds; r++) {
    pooled.push(yield* measure(pool))
    straight.push(yield* measure(direct))
  }
  const stats = yield* Pool.stats(node, pool)
  if (stats.rejected !== 0) throw new Error(`verification failed: the pool refused ${stats.rejected} calls`)
  return { pool: median(pooled), direct: median(straight) }
}))

Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).then(
  (result) => {
    process.stdout.write(JSON.stringify(result) + "\n")
    process.exit(0)
  },
  (error) => {
    process.stderr.write(`bench/pool.ts: ${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  }
)
