/**
 * CPU time per remote operation, both nodes counted (this process and the peer's child),
 * for comparing a change against a base worktree on a loaded machine: CPU time moves far
 * less than wall-clock time when other processes share the cores.
 *
 *   npx tsx bench/remote-cpu.ts payload1k|callSeq|connect|oneway|conc100|oneway+conc100 [runs]
 *
 * Prints one JSON line per run: `{ workload, n, us_per_op_a, us_per_op_b, us_per_op, rate }`
 * (`rate` is the workload's own wall-clock figure, for reference only).
 */
import { readFileSync } from "node:fs"
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

const workload = process.argv[2] ?? "payload1k"
const runs = Number(process.argv[3] ?? 3)

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
        const a0 = selfCpuUs()
        const b0 = childCpuUs(child.pid!)
        const rate = yield* eff
        const ua = (selfCpuUs() - a0) / n
        const ub = (childCpuUs(child.pid!) - b0) / n
        const r2 = (x: number) => Math.round(x * 100) / 100
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
        yield* callConc100(a, 500)
        yield* measure("conc100.fresh", 100_000, callConc100(a, 1000))
        yield* measure("oneway", 1_000_000, oneway(a, 1_000_000))
        yield* measure("conc100.after_oneway", 100_000, callConc100(a, 1000))
      }
    }
  })
)

Effect.runPromise(main).then(() => process.exit(0), (e) => {
  console.error(e)
  process.exit(1)
})
