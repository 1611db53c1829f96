/**
 * Code upgrade workloads (not hot paths: figures for what an upgrade costs).
 *
 * - `code.upgrade.us_per_process`: `node.upgrade` of 100k idle processes (20k with --quick)
 *   from v1 to v2 with a `codeChange` that reshapes the state; µs per process (suspend,
 *   migrate, swap, resume), each process checked to answer as v2 afterwards.
 * - `code.suspend_resume.us`: `Process.suspend` then `Process.resume` of one process, µs per pair.
 */
import { Effect } from "effect"
import { Node, Process } from "../src/index.js"
import type { Size } from "./workloads.js"

const check = (ok: boolean, what: string) => {
  if (!ok) throw new Error(`verification failed: ${what}`)
}

const withNode = <A>(f: (node: Node.NodeService) => Effect.Effect<A, any>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(Node.start("bench@localhost", { limits: { maxProcesses: 5_000_000 } }), f)))

const V1 = Process.make({
  name: "Versioned",
  version: 1,
  init: () => Effect.succeed(0),
  handleCall: (_: "version", _from, n: number) => Effect.succeed(Process.reply(1, n))
})

const V2 = Process.make({
  name: "Versioned",
  version: 2,
  init: () => Effect.succeed({ n: 0 }),
  handleCall: (_: "version", _from, state: { readonly n: number }) => Effect.succeed(Process.reply(2, state)),
  codeChange: (_old, n: number) => Effect.succeed({ n })
})

const upgradeUs = ({ quick }: Size) =>
  withNode((node) =>
    Effect.gen(function*() {
      const n = quick ? 20_000 : 100_000
      const pids: Array<Process.Ref<never, "version">> = []
      for (let i = 0; i < n; i++) pids.push(yield* node.spawn(V1, undefined))
      const t = performance.now()
      const report = yield* node.upgrade(V1, V2)
      const us = ((performance.now() - t) * 1000) / n
      check(report.upgraded.length === n, `${n} processes upgraded (got ${report.upgraded.length})`)
      for (const pid of pids) check((yield* node.call(pid, "version")) === 2, "every process answers as v2")
      return us
    })
  )

const suspendResumeUs = ({ quick }: Size) =>
  withNode((node) =>
    Effect.gen(function*() {
      const n = quick ? 20_000 : 100_000
      const pid = yield* node.spawn(V1, undefined)
      const t = performance.now()
      for (let i = 0; i < n; i++) {
        yield* Process.suspend(pid)
        yield* Process.resume(pid)
      }
      const us = ((performance.now() - t) * 1000) / n
      check((yield* node.call(pid, "version")) === 1, "the process still answers after the suspends")
      return us
    })
  )

/** The code workloads, wired into `run.ts` and `child.ts` beside the others. */
export const codeWorkloads: ReadonlyArray<readonly [string, string, (size: Size) => Promise<number>]> = [
  ["code.upgrade.us_per_process", "us", upgradeUs],
  ["code.suspend_resume.us", "us", suspendResumeUs]
]
