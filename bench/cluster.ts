/**
 * Nodes in worker threads (`Cluster`), one OS process. Prints one JSON object of figures on
 * its last stdout line (bench/run.ts emits each as a JSON line):
 *
 * - `cluster.oneway.msgs_per_s`: a driver on node1 sends small messages to a sink on node2
 *   (another thread, over the MessagePort transport); timed inside node1's thread.
 * - `cluster.call.seq_per_s`: sequential calls from node1 to a process on node2.
 * - `cluster.single.msgs_per_s`: one node, a local pair (driver and sink in one thread).
 * - `cluster.aggregate.msgs_per_s`: the same local pair on every node at once (one pair per
 *   core, N = `os.availableParallelism()` threads): total messages over the wall time.
 * - `cluster.aggregate.speedup`: aggregate over single (target on 2 cores: >= 1.7).
 *
 *   npx tsx bench/cluster.ts [--quick]
 */
import { Effect, Logger, LogLevel } from "effect"
import * as os from "node:os"
import { Cluster, Node, Process } from "../src/index.js"
import { Calls, OneWay } from "./cluster-nodes.js"

const quick = process.argv.includes("--quick")
const ONEWAY = quick ? 200_000 : 1_000_000
const CALLS = quick ? 5_000 : 20_000
const cores = os.availableParallelism()

const program = Effect.scoped(Effect.gen(function*() {
  const cluster = yield* Cluster.start({
    module: new URL("./cluster-nodes.ts", import.meta.url),
    size: Math.max(2, cores),
    nodeOptions: { log: { level: "Warning" } },
    startTimeout: "2 minutes",
    // no spare thread loading beside the measurement
    restart: { spare: false }
  })
  const main = yield* Node.start("bench@cluster", { network: cluster.network("bench@cluster") })
  const [node1, node2] = cluster.nodes as [string, string]
  const driver = (node: string) => Process.name("driver", node)
  const run = (node: string, req: OneWay | Calls) => main.call(driver(node), req, "120 seconds")

  // warm-up: JIT, connections, the sink behaviour's first spawn
  yield* run(node1, new OneWay({ node: node2, count: ONEWAY / 10 }))
  yield* run(node1, new OneWay({ node: "", count: ONEWAY / 10 }))
  yield* run(node1, new Calls({ node: node2, count: CALLS / 10 }))

  const onewayMs = yield* run(node1, new OneWay({ node: node2, count: ONEWAY }))
  const callMs = yield* run(node1, new Calls({ node: node2, count: CALLS }))
  const singleMs = yield* run(node1, new OneWay({ node: "", count: ONEWAY }))
  const pairs = cluster.nodes.slice(0, cores)
  const started = performance.now()
  yield* Effect.forEach(pairs, (node) => run(node, new OneWay({ node: "", count: ONEWAY })), { concurrency: "unbounded" })
  const aggregateMs = performance.now() - started

  const single = ONEWAY / (singleMs / 1000)
  const aggregate = (ONEWAY * pairs.length) / (aggregateMs / 1000)
  return {
    "cluster.oneway.msgs_per_s": ONEWAY / (onewayMs / 1000),
    "cluster.call.seq_per_s": CALLS / (callMs / 1000),
    "cluster.single.msgs_per_s": single,
    "cluster.aggregate.msgs_per_s": aggregate,
    "cluster.aggregate.speedup": aggregate / single,
    "cluster.aggregate.pairs": pairs.length
  }
}))

Effect.runPromise(program.pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).then(
  (figures) => {
    process.stderr.write(`cluster: ${JSON.stringify(figures, null, 2)}\n`)
    process.stdout.write(JSON.stringify(figures) + "\n")
    process.exit(0)
  },
  (error) => {
    process.stderr.write(`cluster bench failed: ${String(error)}\n`)
    process.exit(1)
  }
)
