/**
 * The observer's process table over 100k processes, end to end: an HTTP request to the
 * observer's JSON API, the `Processes` rpc on the control plane, the node sorting and
 * filtering its whole table, and one page of 50 rows back as JSON.
 *
 * - `observer.page_100k_ms`: median time of one page sorted by mailbox depth (a full sort).
 * - `observer.page_100k_pid_ms`: median time of one page in pid order (no sort).
 *
 *   node --import tsx bench/observer.ts [--quick]    # prints one JSON object
 */
import { Effect, Logger, LogLevel } from "effect"
import { Node, Process } from "../src/index.js"
import * as Observer from "../src/Observer/index.js"

const quick = process.argv.includes("--quick")
const PROCESSES = 100_000
const requests = quick ? 5 : 30

const Idle = Process.make({ name: "Idle", init: (n: number) => Effect.succeed(n) })

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!

const program = Effect.gen(function*() {
  const node = yield* Node.start("bench@127.0.0.1", { network: { cookie: "bench", port: 0 } })
  for (let i = 0; i < PROCESSES; i++) yield* node.spawn(Idle, i)
  const observer = yield* Observer.start(node, { sampleInterval: "1 second" })
  const base = `http://127.0.0.1:${observer.port}/api/nodes/${encodeURIComponent(node.name)}/processes?limit=50`
  const page = (query: string) =>
    Effect.promise(async () => {
      const started = performance.now()
      const response = await fetch(`${base}&${query}`, { headers: { authorization: `Bearer ${observer.token}` } })
      const body = await response.json() as { total: number; processes: Array<unknown> }
      const ms = performance.now() - started
      // Verification: the node's whole table was behind the page.
      if (response.status !== 200 || body.total < PROCESSES || body.processes.length !== 50) {
        throw new Error(`verification failed: ${response.status} ${JSON.stringify(body).slice(0, 200)}`)
      }
      return ms
    })
  yield* page("sort=mailbox") // warm: connection, JIT
  const sorted: Array<number> = []
  const byPid: Array<number> = []
  for (let i = 0; i < requests; i++) {
    sorted.push(yield* page(`sort=mailbox&offset=${i * 50}`))
    byPid.push(yield* page(`sort=pid&offset=${i * 50}`))
  }
  return { sorted: median(sorted), pid: median(byPid) }
})

Effect.runPromise(Effect.scoped(program).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).then(
  ({ pid, sorted }) => {
    process.stderr.write(`observer page over 100k processes: ${sorted.toFixed(1)} ms sorted by mailbox, ${pid.toFixed(1)} ms in pid order\n`)
    process.stdout.write(JSON.stringify({ sorted, pid }) + "\n")
    process.exit(0)
  },
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  }
)
