/**
 * Rain's benchmarks, side by side with Erlang/OTP.
 *
 *   npm run bench                                  # every workload, JSON lines on stdout
 *   npm run bench -- --only local,spawn --quick    # a subset, short pass
 *   npm run bench:compare                          # also the Erlang workloads (needs erl)
 *   npm run bench -- --only control --quick        # the control plane beside node.call
 *   npm run bench -- --only observer --quick       # the observer's process table over 100k processes
 *
 * Each run of a workload happens in a fresh Node.js process (so that one workload's heap
 * does not weigh on the next); a figure is the median of the runs. Human tables go to
 * stderr. A workload that fails its own verification prints no figure and makes the
 * exit code non-zero.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { cpus } from "node:os"
import { fileURLToPath } from "node:url"
import { codeWorkloads } from "./code.js"
import { metaWorkloads } from "./meta.js"
import { workloads } from "./workloads.js"

const args = process.argv.slice(2)
const quick = args.includes("--quick")
const compare = args.includes("--compare")
const onlyIndex = args.indexOf("--only")
const only = onlyIndex >= 0 ? (args[onlyIndex + 1] ?? "").split(",").filter((p) => p !== "") : []
const selected = (name: string) => only.length === 0 || only.some((prefix) => name.startsWith(prefix))
const runs = quick ? 1 : 3
/**
 * The slowest workloads run fewer times so that a full pass stays within 5 minutes on 2 cores
 * (a database run alternates its sides over several rounds itself).
 */
const runsFor = (name: string) =>
  quick ? 1
  : name === "spawn.1m.seconds" || name.startsWith("db.") || name.startsWith("gateway.") ? 1
  : name.startsWith("remote.") ? 2
  : runs
const here = fileURLToPath(new URL(".", import.meta.url))
const root = fileURLToPath(new URL("..", import.meta.url))

interface Figure {
  readonly bench: string
  readonly value: number
  readonly unit: string
  readonly runs: number
  readonly min: number
  readonly max: number
}

const figures = new Map<string, Figure>()
let failed = false

const emit = (bench: string, unit: string, values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const round = (n: number) => Math.round(n * 100) / 100
  const figure = {
    bench,
    value: round(sorted[sorted.length >> 1]!),
    unit,
    runs: sorted.length,
    min: round(sorted[0]!),
    max: round(sorted[sorted.length - 1]!)
  }
  figures.set(bench, figure)
  process.stdout.write(JSON.stringify(figure) + "\n")
}

const log = (line: string) => process.stderr.write(line + "\n")

/** Runs a script in a fresh node process and returns the JSON it printed last. */
const runChild = (script: string, scriptArgs: ReadonlyArray<string>, timeoutMs: number): unknown => {
  // A large old space only where 1M processes need it: it changes V8's heap sizing and
  // costs messaging workloads about 30%.
  const heap = scriptArgs[0]?.startsWith("spawn.") ? ["--max-old-space-size=8192"] : []
  const result = spawnSync(process.execPath, ["--expose-gc", ...heap, "--import", "tsx", script, ...scriptArgs], {
    cwd: root,
    encoding: "utf8",
    timeout: timeoutMs,
    stdio: ["ignore", "pipe", "pipe"]
  })
  if (result.status !== 0) {
    throw new Error(`${scriptArgs[0] ?? script} failed (${result.signal ?? result.status}): ${result.stderr.trim().split("\n").slice(-5).join(" | ")}`)
  }
  const lines = result.stdout.trim().split("\n")
  return JSON.parse(lines[lines.length - 1]!)
}

// --- Rain, local (and the meta processes, each beside its baselines)
for (const [name, unit] of [...workloads, ...metaWorkloads, ...codeWorkloads]) {
  if (!selected(name)) continue
  try {
    const values: Array<number> = []
    for (let i = 0; i < runsFor(name); i++) {
      const out = runChild(`${here}child.ts`, quick ? [name, "--quick"] : [name], 120_000) as { value: number }
      values.push(out.value)
    }
    emit(name, unit, values)
  } catch (error) {
    failed = true
    log(`FAILED ${name}: ${(error as Error).message}`)
  }
}

// --- Rain, remote: two nodes in two OS processes on 127.0.0.1
const remoteUnits: Record<string, string> = {
  "remote.oneway.msgs_per_s": "msgs/s",
  "remote.oneway.class3.msgs_per_s": "msgs/s",
  "remote.call.seq_per_s": "calls/s",
  "remote.call.conc100_per_s": "calls/s",
  "remote.important.seq_per_s": "sends/s",
  "remote.important.conc100_per_s": "sends/s",
  "remote.payload1k.mb_per_s": "MB/s",
  "remote.connect.ms": "ms",
  "remote.down.ms": "ms"
}
// Like the local workloads and Erlang's, each remote workload runs on a fresh pair of nodes.
for (const [name, unit] of Object.entries(remoteUnits)) {
  if (!selected(name)) continue
  try {
    const values: Array<number> = []
    for (let i = 0; i < runsFor(name); i++) {
      const sample = runChild(`${root}test/fixtures/remote-bench.ts`, ["--only", name, ...(quick ? ["--quick"] : [])], 240_000)
      const value = (sample as Record<string, number>)[name]
      if (typeof value !== "number") throw new Error(`no figure for ${name}`)
      values.push(value)
    }
    emit(name, unit, values)
  } catch (error) {
    failed = true
    log(`FAILED ${name}: ${(error as Error).message}`)
  }
}

// --- Rain, cluster: nodes in worker threads of one OS process (bench/cluster.ts)
const clusterUnits: Record<string, string> = {
  "cluster.oneway.msgs_per_s": "msgs/s",
  "cluster.call.seq_per_s": "calls/s",
  "cluster.single.msgs_per_s": "msgs/s",
  "cluster.aggregate.msgs_per_s": "msgs/s",
  "cluster.aggregate.speedup": "x",
  // Linux only (absent elsewhere): what the measured threads spent, to read the figures above on a shared machine
  "cluster.single.cpu_ns_per_msg": "ns",
  "cluster.aggregate.cpu_ns_per_msg": "ns",
  "cluster.aggregate.wait_pct": "%",
  "cluster.aggregate.others_cpu_pct": "%"
}
if (Object.keys(clusterUnits).some(selected)) {
  try {
    const samples: Array<Record<string, number>> = []
    for (let i = 0; i < runsFor("cluster."); i++) {
      samples.push(runChild(`${here}cluster.ts`, quick ? ["--quick"] : [], 300_000) as Record<string, number>)
    }
    for (const [name, unit] of Object.entries(clusterUnits)) {
      if (selected(name) && samples.every((s) => typeof s[name] === "number")) emit(name, unit, samples.map((s) => s[name]!))
    }
    const first = samples[0]!
    log(
      `cluster: ${first["cluster.aggregate.pairs"]} pairs, one per core, vs one node: see cluster.aggregate.speedup ` +
        `(each run the median of ${first["cluster.aggregate.rounds"]} alternating rounds; speedups seen: ` +
        samples.map((s) => `${s["cluster.aggregate.speedup_min"]!.toFixed(2)}-${s["cluster.aggregate.speedup_max"]!.toFixed(2)}`)
          .join(", ") + ")"
    )
  } catch (error) {
    failed = true
    log(`FAILED cluster.*: ${(error as Error).message}`)
  }
}

// --- Database: a primary-key select through a pool process beside a bare @effect/sql client, same run
const dbDrivers: Array<readonly [prefix: string, driver: string]> = [["db.sqlite.", "sqlite"], ["db.pg.", "pg"]]
for (const [prefix, driver] of dbDrivers) {
  if (!selected(`${prefix}query_per_s`) && !selected(`${prefix}bare_query_per_s`)) continue
  try {
    const samples: Array<Record<string, number | string>> = []
    for (let i = 0; i < runsFor(prefix); i++) {
      const sample = runChild(`${here}db.ts`, [driver, ...(quick ? ["--quick"] : [])], 300_000) as Record<string, number | string>
      if (typeof sample.skip === "string") break
      samples.push(sample)
    }
    if (samples.length === 0) {
      log(`${prefix}*: skipped: ${driver === "pg" ? "PostgreSQL is not installed (apt-get install -y postgresql)" : "no sample"}`)
      continue
    }
    const values = (key: string) => samples.map((s) => Number(s[key]))
    emit(`${prefix}query_per_s`, "queries/s", values("pool"))
    emit(`${prefix}bare_query_per_s`, "queries/s", values("bare"))
    emit(`${prefix}cpu_us_per_query`, "us", values("pool_cpu_us"))
    emit(`${prefix}bare_cpu_us_per_query`, "us", values("bare_cpu_us"))
    emit(`${prefix}layer_query_per_s`, "queries/s", values("layer"))
    emit(`${prefix}layer_cpu_us_per_query`, "us", values("layer_cpu_us"))
    const pool = figures.get(`${prefix}query_per_s`)!.value
    const bare = figures.get(`${prefix}bare_query_per_s`)!.value
    log(`${prefix}query_per_s: pool process ${Math.round(pool)} vs bare SqlClient ${Math.round(bare)} (${((pool / bare) * 100).toFixed(0)}% of bare)`)
  } catch (error) {
    failed = true
    log(`FAILED ${prefix}*: ${(error as Error).message}`)
  }
}

// --- Pool: calls through a pool of 4 workers beside direct calls to one process, same run
if (selected("pool.call.per_s") || selected("pool.direct_call.per_s")) {
  try {
    const samples: Array<Record<string, number>> = []
    for (let i = 0; i < runsFor("pool."); i++) samples.push(runChild(`${here}pool.ts`, quick ? ["--quick"] : [], 120_000) as Record<string, number>)
    emit("pool.call.per_s", "calls/s", samples.map((s) => s.pool!))
    emit("pool.direct_call.per_s", "calls/s", samples.map((s) => s.direct!))
    const pool = figures.get("pool.call.per_s")!.value
    const direct = figures.get("pool.direct_call.per_s")!.value
    log(`pool.call.per_s: pool of 4 ${Math.round(pool)} vs direct ${Math.round(direct)} (${((pool / direct) * 100).toFixed(0)}% of direct)`)
  } catch (error) {
    failed = true
    log(`FAILED pool.*: ${(error as Error).message}`)
  }
}

// --- Events: fan-out to 10,000 subscribers on this node and on a peer OS process, beside direct sends (bench/events.ts)
const eventUnits: ReadonlyArray<string> = [
  "event.fanout.local.msgs_per_s",
  "event.fanout.local.direct_msgs_per_s",
  "event.fanout.remote.msgs_per_s",
  "event.fanout.remote.direct_msgs_per_s"
]
if (eventUnits.some(selected)) {
  try {
    const samples: Array<Record<string, number>> = []
    for (let i = 0; i < (quick ? 1 : 2); i++) {
      samples.push(runChild(`${here}events.ts`, quick ? ["--quick"] : [], 300_000) as Record<string, number>)
    }
    for (const name of eventUnits) if (selected(name)) emit(name, "msgs/s", samples.map((s) => s[name]!))
  } catch (error) {
    failed = true
    log(`FAILED event.fanout.*: ${(error as Error).message}`)
  }
}

// --- Control plane: an @effect/rpc Ping beside a node.call on the data plane, same run
if (selected("control.ping.per_s") || selected("control.node_call.per_s")) {
  try {
    const samples: Array<Record<string, number>> = []
    for (let i = 0; i < runsFor("control."); i++) {
      samples.push(runChild(`${here}control.ts`, quick ? ["--quick"] : [], 120_000) as Record<string, number>)
    }
    emit("control.ping.per_s", "calls/s", samples.map((s) => s["ping"]!))
    emit("control.node_call.per_s", "calls/s", samples.map((s) => s["call"]!))
  } catch (error) {
    failed = true
    log(`FAILED control.*: ${(error as Error).message}`)
  }
}

// --- Gateway: a process called through Gateway.Server over HTTP and WebSocket beside a direct node.call, same run
if (selected("gateway.")) {
  try {
    const samples: Array<Record<string, number>> = []
    for (let i = 0; i < runsFor("gateway."); i++) {
      samples.push(runChild(`${here}gateway.ts`, quick ? ["--quick"] : [], 300_000) as Record<string, number>)
    }
    const values = (key: string) => samples.map((s) => Number(s[key]))
    emit("gateway.http.calls_per_s", "calls/s", values("http"))
    emit("gateway.ws.calls_per_s", "calls/s", values("ws"))
    emit("gateway.direct.calls_per_s", "calls/s", values("direct"))
    const direct = figures.get("gateway.direct.calls_per_s")!.value
    log(
      `gateway.*: http ${Math.round(figures.get("gateway.http.calls_per_s")!.value)}, ` +
        `ws ${Math.round(figures.get("gateway.ws.calls_per_s")!.value)}, direct node.call ${Math.round(direct)} calls/s`
    )
  } catch (error) {
    failed = true
    log(`FAILED gateway.*: ${(error as Error).message}`)
  }
}

// --- Observer: one page of the process table over 100k processes, through HTTP and the control plane
if (selected("observer.page_100k_ms") || selected("observer.page_100k_pid_ms")) {
  try {
    const samples: Array<Record<string, number>> = []
    for (let i = 0; i < runsFor("observer."); i++) {
      samples.push(runChild(`${here}observer.ts`, quick ? ["--quick"] : [], 180_000) as Record<string, number>)
    }
    emit("observer.page_100k_ms", "ms", samples.map((s) => s["sorted"]!))
    emit("observer.page_100k_pid_ms", "ms", samples.map((s) => s["pid"]!))
  } catch (error) {
    failed = true
    log(`FAILED observer.*: ${(error as Error).message}`)
  }
}

// --- The etcd registrar against a real etcd: lookups (watched copy, and each from etcd), SIGKILL to every peer seeing it leave
const etcdUnits: Record<string, string> = {
  "registrar.etcd.lookup_per_s": "lookups/s",
  "registrar.etcd.uncached_lookup_per_s": "lookups/s",
  "registrar.etcd.sigkill_to_left_ms": "ms"
}
if (Object.keys(etcdUnits).some(selected)) {
  try {
    const samples: Array<Record<string, number | string>> = []
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      const sample = runChild(`${here}etcd.ts`, quick ? ["--quick"] : [], 180_000) as Record<string, number | string>
      if (typeof sample.skip === "string") {
        log(`registrar.etcd.*: skipped: ${sample.skip}`)
        break
      }
      samples.push(sample)
    }
    if (samples.length > 0) {
      const keys: Record<string, string> = {
        "registrar.etcd.lookup_per_s": "cached",
        "registrar.etcd.uncached_lookup_per_s": "uncached",
        "registrar.etcd.sigkill_to_left_ms": "left_ms"
      }
      for (const [name, unit] of Object.entries(etcdUnits)) {
        if (selected(name)) emit(name, unit, samples.map((s) => Number(s[keys[name]!])))
      }
      log(`registrar.etcd.sigkill_to_left_ms: with a lease TTL of ${samples[0]!.ttl_s} s`)
    }
  } catch (error) {
    failed = true
    log(`FAILED registrar.etcd.*: ${(error as Error).message}`)
  }
}

// --- Erlang/OTP on the same machine
const hasErl = (() => {
  try {
    execFileSync("erl", ["-noshell", "-eval", "halt()."], { stdio: "ignore", timeout: 20_000 })
    return true
  } catch {
    return false
  }
})()

if (compare && !hasErl) {
  log("erl is not installed: showing Rain's figures alone (apt-get install erlang-base to compare).")
}
/**
 * Erlang runs each workload on one scheduler (`+S 1`, like Rain's one thread) and, for
 * the local workloads, again on every core (`erlang.<name>.smp`: what a user of the BEAM
 * gets by default; `ERL_ZFLAGS` comes after the escript's own `+S 1`).
 */
const erlangRuns: Array<readonly [name: string, unit: string, suffix: string, env: Record<string, string>]> = [
  ...[...workloads.filter(([n]) => !n.startsWith("baseline.")), ...Object.entries(remoteUnits)].map(([name, unit]) =>
    [name, unit, "", {}] as const
  ),
  ...workloads.filter(([n]) => n.startsWith("local.") || n.startsWith("supervisor.")).map(([name, unit]) =>
    [name, unit, ".smp", { ERL_ZFLAGS: `+S ${cpus().length}` }] as const
  ),
  // one pair per scheduler: beside Rain's one pair per thread node (cluster.aggregate)
  ["cluster.aggregate.msgs_per_s", "msgs/s", "", {}] as const,
  ["cluster.aggregate.msgs_per_s", "msgs/s", ".smp", { ERL_ZFLAGS: `+S ${cpus().length}` }] as const
]
if (compare && hasErl) {
  for (const [name, unit, suffix, env] of erlangRuns) {
    if (!selected(name)) continue
    try {
      const values: Array<number> = []
      for (let i = 0; i < runs; i++) {
        const result = spawnSync("escript", [`${here}erlang/bench.escript`, name, quick ? "quick" : "full"], {
          cwd: root,
          encoding: "utf8",
          timeout: 240_000,
          env: { ...process.env, ...env }
        })
        if (result.status !== 0) throw new Error(result.stderr.trim().split("\n").slice(-3).join(" | ") || `exit ${result.status}`)
        const line = result.stdout.trim().split("\n").pop()!
        if (line === "skip") throw new Error("skipped (see stderr)")
        values.push(Number(JSON.parse(line).value))
      }
      emit(`erlang.${name}${suffix}`, unit, values)
    } catch (error) {
      log(`erlang ${name}${suffix}: ${(error as Error).message}`)
    }
  }
}

// --- Table on stderr
const lowerIsBetter = (unit: string) => unit === "us" || unit === "bytes" || unit === "s" || unit === "ms"
const format = (n: number) => (n >= 1000 ? Math.round(n).toLocaleString("en-US") : String(n))
log("")
log(
  `${"workload".padEnd(40)} ${"Rain".padStart(16)} ${
    compare ? "Erlang +S1".padStart(16) + " " + "Rain/Erlang".padStart(12) + " " + "Erlang SMP".padStart(16) : ""
  }`
)
for (const figure of figures.values()) {
  if (figure.bench.startsWith("erlang.")) continue
  const erl = figures.get(`erlang.${figure.bench}`)
  const smp = figures.get(`erlang.${figure.bench}.smp`)
  const ratio = erl === undefined ? "" : (lowerIsBetter(figure.unit) ? erl.value / figure.value : figure.value / erl.value).toFixed(2) + "x"
  const cell = (f: Figure | undefined) => (f === undefined ? "" : format(f.value) + " " + f.unit).padStart(16)
  log(
    `${figure.bench.padEnd(40)} ${cell(figure)} ${compare ? cell(erl) + " " + ratio.padStart(12) + " " + cell(smp) : ""}`
  )
}
if (compare) log(`(Rain/Erlang above 1x means Rain is faster or smaller than Erlang on one scheduler; Erlang SMP uses all ${cpus().length} cores.)`)
process.exit(failed ? 1 : 0)
