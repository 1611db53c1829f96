/**
 * CPU time per remote operation, both nodes counted (this process and the peer's child),
 * for comparing a change against a base worktree on a loaded machine: CPU time moves far
 * less than wall-clock time when other processes share the cores.
 *
 *   npx tsx bench/remote-cpu.ts payload1k|callSeq|connect|oneway|conc100|oneway+conc100 [runs]
 *
 * Prints one JSON line per run: `{ workload, n, us_per_op_a, us_per_op_b, us_per_op, rate }`
 * (`rate` is the workload's own wall-clock figure, for reference only).
 *
 * With `RAIN_CPU_PROF=dir`, each measured phase of this process (node a) is also written
 * as a CPU profile, `dir/<workload>.<run>.cpuprofile`, without the start-up in it (with
 * `RAIN_HEAP_PROF=1` as well: a sampling heap profile instead). `RAIN_PHASES=1` prints
 * `phase <name>` before each phase (to cut `node --trace-gc` output by phase);
 * `RAIN_HEAP=1` (with `node --expose-gc`) prints the heap before and after a full GC.
 *
 * `oneway+conc100` is issue 15's "100 concurrent callers at half speed after 1M one-way
 * messages" in one node pair; `RAIN_ONEWAY_N` sets the one-way count and
 * `RAIN_BETWEEN=idle|garbage` replaces the one-way phase by 3 s idle or by as many
 * short-lived arrays allocated in a loop (no wire), to tell the node's state from V8's.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { Session } from "node:inspector"
import { Effect } from "effect"
import { Node } from "../src/index.js"
import { embeddedRegistrar } from "../src/Registry/Registrar.js"
import { freePort, messages } from "../test/fixtures/dist.js"
import { callConc100, callSeq, connectMs, oneway, payload1k, startPeer } from "../test/fixtures/remote-bench.js"

const tick = 100 // USER_HZ on Linux
const childCpuUs = (pid: number): number => {
  // fields after the ")" of the command name: utime is the 12th, stime the 13th
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return ((Number(f[11]) + Number(f[12])) * 1_000_000) / tick
}
const selfCpuUs = (): number => {
  const u = process.cpuUsage()
  return u.user + u.system
}

const profDir = process.env.RAIN_CPU_PROF
const inspector = profDir === undefined ? undefined : new Session()
const post = (method: string, params?: object): Promise<any> =>
  new Promise((resolve, reject) =>
    inspector!.post(method, params ?? {}, (error, result) => (error === null ? resolve(result) : reject(error)))
  )
let profiles = 0

const workload = process.argv[2] ?? "payload1k"
const runs = Number(process.argv[3] ?? 3)

inspector?.connect()

const main = Effect.scoped(
  Effect.gen(function*() {
    const port = yield* Effect.promise(freePort)
    const child = yield* Effect.promise(() => startPeer(port))
    yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
    const a = yield* Node.start("a@127.0.0.1", {
      log: { level: "Warning" },
      network: { cookie: "test-cookie", registrar: embeddedRegistrar({ port }), messages }
    })
    const measure = <E, R>(name: string, n: number, eff: Effect.Effect<number, E, R>) =>
      Effect.gen(function*() {
        if (process.env.RAIN_PHASES !== undefined) console.log(`phase ${name}`)
        const heap = process.env.RAIN_HEAP_PROF !== undefined
        if (inspector !== undefined && heap) {
          yield* Effect.promise(() => post("HeapProfiler.enable").then(() => post("HeapProfiler.startSampling", { samplingInterval: 4096 })))
        } else if (inspector !== undefined) yield* Effect.promise(() => post("Profiler.enable").then(() => post("Profiler.start")))
        const a0 = selfCpuUs()
        const b0 = childCpuUs(child.pid!)
        const rate = yield* eff
        if (inspector !== undefined && heap) {
          const { profile } = yield* Effect.promise(() => post("HeapProfiler.stopSampling"))
          writeFileSync(`${profDir}/${name}.${profiles++}.heapprofile`, JSON.stringify(profile))
        } else if (inspector !== undefined) {
          const { profile } = yield* Effect.promise(() => post("Profiler.stop"))
          writeFileSync(`${profDir}/${name}.${profiles++}.cpuprofile`, JSON.stringify(profile))
        }
        const ua = (selfCpuUs() - a0) / n
        const ub = (childCpuUs(child.pid!) - b0) / n
        const r2 = (x: number) => Math.round(x * 100) / 100
        if (process.env.RAIN_HEAP !== undefined) {
          const mb = (x: number) => Math.round(x / 1048576)
          const before = process.memoryUsage()
          ;(globalThis as any).gc?.()
          const after = process.memoryUsage()
          console.log(JSON.stringify({ heapUsedMB: mb(before.heapUsed), heapUsedAfterGcMB: mb(after.heapUsed), externalMB: mb(after.external), arrayBuffersMB: mb(after.arrayBuffers) }))
        }
        console.log(JSON.stringify({ workload: name, n, us_per_op_a: r2(ua), us_per_op_b: r2(ub), us_per_op: r2(ua + ub), rate: r2(rate) }))
      })
    if (workload === "connect") {
      // connect, then disconnect and connect again: each run is one fresh handshake
      for (let i = 0; i < runs; i++) {
        yield* measure("connect", 1, connectMs(a))
        yield* a.disconnect("b@127.0.0.1")
        yield* Effect.sleep("200 millis")
      }
      return
    }
    yield* a.connect("b@127.0.0.1")
    for (let i = 0; i < runs; i++) {
      if (workload === "payload1k") {
        yield* payload1k(a, 10_000)
        yield* measure("payload1k", 100_000, payload1k(a, 100_000))
      } else if (workload === "callSeq") {
        yield* callSeq(a, 2_000)
        yield* measure("callSeq", 20_000, callSeq(a, 20_000))
      } else if (workload === "oneway") {
        yield* measure("oneway", 1_000_000, oneway(a, 1_000_000))
      } else if (workload === "conc100") {
        yield* callConc100(a, 500)
        yield* measure("conc100", 100_000, callConc100(a, 1000))
      } else if (workload === "oneway+conc100") {
        // remote.oneway then remote.call.conc100 in one node pair (issue 15's "half speed")
        const n = Number(process.env.RAIN_ONEWAY_N ?? 1_000_000)
        yield* callConc100(a, 500)
        yield* measure("conc100.fresh", 100_000, callConc100(a, 1000))
        const between = process.env.RAIN_BETWEEN ?? "oneway"
        if (between === "oneway") yield* measure("oneway", n, oneway(a, n))
        else if (between === "idle") yield* Effect.sleep("3 seconds")
        else if (between === "garbage") {
          // allocation like oneway's, without the wire: short-lived arrays
          let keep: unknown = undefined
          for (let i = 0; i < n * 5; i++) keep = [1, null, [2, "sink", "b"], i, 0]
          if (keep === undefined) return
        }
        yield* measure("conc100.after_oneway", 100_000, callConc100(a, 1000))
        yield* measure("conc100.after_oneway.again", 100_000, callConc100(a, 1000))
      }
    }
  })
)

Effect.runPromise(main).then(() => process.exit(0), (e) => {
  console.error(e)
  process.exit(1)
})
