/**
 * Runs one workload once in this (fresh) process and prints `{"value": n}`.
 *
 *   node --expose-gc --import tsx bench/child.ts local.oneway.msgs_per_s [--quick]
 */
import { codeWorkloads } from "./code.js"
import { metaWorkloads } from "./meta.js"
import { workloads } from "./workloads.js"

const [name, ...flags] = process.argv.slice(2)
const workload = [...workloads, ...metaWorkloads, ...codeWorkloads].find(([n]) => n === name)
if (workload === undefined) {
  process.stderr.write(`unknown workload ${name}\n`)
  process.exit(2)
}
workload[2]({ quick: flags.includes("--quick") }).then(
  (value) => {
    process.stdout.write(JSON.stringify({ value }) + "\n")
    process.exit(0)
  },
  (error) => {
    process.stderr.write(`${name}: ${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  }
)
