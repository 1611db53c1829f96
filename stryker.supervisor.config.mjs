// `npm run mutate:supervisor`: the Stryker config, on src/Supervisor/internal with the tests that reach it.
import { readFileSync } from "node:fs"

const base = JSON.parse(readFileSync(new URL("./stryker.config.json", import.meta.url), "utf8"))
delete base.$schema
delete base._comment

export default {
  ...base,
  mutate: ["src/Supervisor/internal/**/*.ts"],
  vitest: { configFile: "vitest.supervisor.config.ts" },
  htmlReporter: { fileName: "reports/mutation/supervisor.html" },
  jsonReporter: { fileName: "reports/mutation/supervisor.json" }
}
