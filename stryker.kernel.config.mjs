// `npm run mutate:kernel`: the Stryker config, on src/Node/internal with the tests that reach it
// (vitest.kernel.config.ts). A full run takes hours on two cores, so it goes in parts that each
// keep their own report and incremental file: `MUTATE_PART=core|core2|core3|rest|dist npm run mutate:kernel`
// (default: all three in one run).
import { readFileSync } from "node:fs"

const base = JSON.parse(readFileSync(new URL("./stryker.config.json", import.meta.url), "utf8"))
delete base.$schema
delete base._comment

const hot = ["kernel", "mailbox", "calls", "signals", "timers", "deadlines", "scheduler", "proc", "local"]
  .map((file) => `src/Node/internal/${file}.ts`)
// Parts that do not overlap (each keeps its own incremental file, so an overlap would run twice):
// the hot path in three, then the rest of the kernel's modules, then distribution.
const parts = {
  // lookup, schedule, drain, step, handle, complete and the mailbox (~380 mutants)
  core: ["src/Node/internal/kernel.ts:199-545", "src/Node/internal/mailbox.ts"],
  // spawn, send, enqueue, exit, register and signals (~790 mutants, 1.5-2 h on two busy cores)
  core2: ["src/Node/internal/kernel.ts:546-975", "src/Node/internal/signals.ts"],
  // the rest of the hot path: the kernel's head and tail, calls, timers, deadlines, scheduler, records
  core3: [
    "src/Node/internal/kernel.ts:1-198",
    "src/Node/internal/kernel.ts:976-1100",
    ...hot.filter((file) => !/(kernel|mailbox|signals)\.ts$/.test(file))
  ],
  rest: ["src/Node/internal/*.ts", ...hot.map((file) => `!${file}`)],
  dist: ["src/Node/internal/dist/*.ts"],
  all: ["src/Node/internal/**/*.ts"]
}
const part = process.env.MUTATE_PART ?? "all"
if (!(part in parts)) throw new Error(`MUTATE_PART must be one of ${Object.keys(parts).join(", ")}, not ${part}`)

export default {
  ...base,
  mutate: parts[part],
  vitest: { configFile: "vitest.kernel.config.ts" },
  concurrency: 2,
  // message texts: what a mutated log line or error message says is not the kernel's behaviour
  mutator: { excludedMutations: ["StringLiteral"] },
  // tests bound their own waits (1-5 s); past that a mutant has hung the node
  timeoutMS: 10000,
  // a static mutant (a module-level constant) needs every test rerun with a fresh module graph
  ignoreStatic: true,
  incremental: true,
  incrementalFile: `reports/mutation/kernel-${part}-incremental.json`,
  htmlReporter: { fileName: `reports/mutation/kernel-${part}.html` },
  jsonReporter: { fileName: `reports/mutation/kernel-${part}.json` }
}
