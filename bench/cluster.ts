/**
 * Nodes in worker threads (`Cluster`), one OS process. Prints one JSON object of figures on
 * its last stdout line (bench/run.ts emits each as a JSON line):
 *
 * - `cluster.oneway.msgs_per_s`: a driver on node1 sends small messages to a sink on node2
 *   (another thread, over the MessagePort transport); timed inside node1's thread.
 * - `cluster.call.seq_per_s`: sequential calls from node1 to a process on node2.
 * - `cluster.single.msgs_per_s`: one node, a local pair (driver and sink in one thread), the
 *   other nodes idle.
 * - `cluster.aggregate.msgs_per_s`: the same local pair on every node at once (one pair per
 *   core, N = `os.availableParallelism()` threads): total messages over the time from the
 *   first pair's start to the last pair's end.
 * - `cluster.aggregate.speedup`: aggregate over single (target on 2 cores: >= 1.7).
 * - Linux only, to read the figures above on a shared machine (from each thread's
 *   `/proc/.../schedstat`): `cluster.single.cpu_ns_per_msg` and
 *   `cluster.aggregate.cpu_ns_per_msg` (CPU of the measured threads per message: equal
 *   when the nodes scale), `cluster.aggregate.wait_pct` (how long the measured threads
 *   were runnable but had no core, as a share of the run: other processes, or this one's
 *   other threads, took it) and `cluster.aggregate.others_cpu_pct` (CPU of this process's
 *   other threads during the aggregate, main thread and V8's GC helpers, as a share of the
 *   measured threads' CPU).
 *
 * How it is measured, and why it is fair to both sides: single and aggregate run the same
 * pair in the same kind of thread, each node's pair warmed up first (alone, then all at
 * once), in alternating rounds (single on node1, aggregate, single on node2, ...) so that
 * a change in the machine's load weighs on both; each is timed by the drivers, on the
 * monotonic clock all threads share, from the first start to the last end (a pair that
 * finishes late counts in full; what is left out, on both sides, is the main thread's call
 * to the drivers and their answer). A figure is the median over the rounds, the speedup
 * the median of each round's aggregate over its single.
 *
 *   npx tsx bench/cluster.ts [--quick]
 */
import { Effect, Logger, LogLevel } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import { Cluster, Node, Process } from "../src/index.js"
import { Calls, OneWay, type Run } from "./cluster-nodes.js"

const quick = process.argv.includes("--quick")
const ONEWAY = quick ? 200_000 : 1_000_000
const CALLS = quick ? 5_000 : 20_000
const ROUNDS = quick ? 1 : 5
const cores = os.availableParallelism()

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** ms on a core of every thread of this process, by thread id (Linux); empty elsewhere. */
const processThreads = (): Map<string, number> => {
  const out = new Map<string, number>()
  try {
    for (const tid of fs.readdirSync("/proc/self/task")) {
      try {
        out.set(tid, Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]) / 1e6)
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // not Linux
  }
  return out
}

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
  const oneway = (node: string, req: OneWay) => main.call(driver(node), req, "120 seconds")
  const pairs = cluster.nodes.slice(0, cores)
  const local = (node: string, count: number) => oneway(node, new OneWay({ node: "", count }))
  const together = (count: number) => Effect.forEach(pairs, (node) => local(node, count), { concurrency: "unbounded" })

  // warm-up: JIT, connections, the sink behaviour's first spawn; every node's pair alone, then all at once
  yield* oneway(node1, new OneWay({ node: node2, count: ONEWAY / 10 }))
  for (const node of pairs) yield* local(node, ONEWAY / 10)
  yield* together(ONEWAY / 10)
  yield* main.call(driver(node1), new Calls({ node: node2, count: CALLS / 10 }), "120 seconds")

  const remote = yield* oneway(node1, new OneWay({ node: node2, count: ONEWAY }))
  const callMs = yield* main.call(driver(node1), new Calls({ node: node2, count: CALLS }), "120 seconds")

  const singles: Array<number> = []
  const aggregates: Array<number> = []
  const speedups: Array<number> = []
  const singleCpu: Array<number> = []
  const aggregateCpu: Array<number> = []
  const waits: Array<number> = []
  const others: Array<number> = []
  for (let round = 0; round < ROUNDS; round++) {
    const one = yield* local(pairs[round % pairs.length]!, ONEWAY)
    const before = processThreads()
    const all: ReadonlyArray<Run> = yield* together(ONEWAY)
    const after = processThreads()
    const single = ONEWAY / ((one.end - one.start) / 1000)
    const start = Math.min(...all.map((r) => r.start))
    const end = Math.max(...all.map((r) => r.end))
    const aggregate = (ONEWAY * all.length) / ((end - start) / 1000)
    singles.push(single)
    aggregates.push(aggregate)
    speedups.push(aggregate / single)
    if (one.cpu !== null && all.every((r) => r.cpu !== null && r.wait !== null && r.tid !== null)) {
      const cpu = all.reduce((sum, r) => sum + r.cpu!, 0)
      singleCpu.push((one.cpu * 1e6) / ONEWAY)
      aggregateCpu.push((cpu * 1e6) / (ONEWAY * all.length))
      waits.push((100 * all.reduce((sum, r) => sum + r.wait!, 0)) / all.reduce((sum, r) => sum + r.end - r.start, 0))
      const measured = new Set(all.map((r) => r.tid!))
      let rest = 0
      for (const [tid, ms] of after) if (!measured.has(tid)) rest += ms - (before.get(tid) ?? 0)
      others.push((100 * rest) / cpu)
    }
  }

  return {
    "cluster.oneway.msgs_per_s": ONEWAY / ((remote.end - remote.start) / 1000),
    "cluster.call.seq_per_s": CALLS / (callMs / 1000),
    "cluster.single.msgs_per_s": median(singles),
    "cluster.aggregate.msgs_per_s": median(aggregates),
    "cluster.aggregate.speedup": median(speedups),
    "cluster.aggregate.pairs": pairs.length,
    "cluster.aggregate.rounds": ROUNDS,
    "cluster.aggregate.speedup_min": Math.min(...speedups),
    "cluster.aggregate.speedup_max": Math.max(...speedups),
    ...(singleCpu.length === 0 ? {} : {
      "cluster.single.cpu_ns_per_msg": median(singleCpu),
      "cluster.aggregate.cpu_ns_per_msg": median(aggregateCpu),
      "cluster.aggregate.wait_pct": median(waits),
      "cluster.aggregate.others_cpu_pct": median(others)
    })
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
