// `npm run mutate:supervisor`: the Stryker config, on src/Supervisor/internal with the tests that reach it.
import { readFileSync } from "node:fs"

const base = JSON.parse(readFileSync(new URL("./stryker.config.json", import.meta.url), "utf8"))
delete base.$schema
delete base._comment

export default {
  ...base,
  mutate: ["src/Supervisor/internal/**/*.ts"],
  vitest: { configFile: "vitest.supervisor.config.ts" },
  // as in stryker.kernel.config.mjs: message texts are not behaviour, a static mutant needs a
  // fresh module graph per test, and a rerun tests only what changed
  concurrency: 2,
  mutator: { excludedMutations: ["StringLiteral"] },
  timeoutMS: 10000,
  ignoreStatic: true,
  incremental: true,
  incrementalFile: "reports/mutation/supervisor-incremental.json",
  htmlReporter: { fileName: "reports/mutation/supervisor.html" },
  jsonReporter: { fileName: "reports/mutation/supervisor.json" }
}
