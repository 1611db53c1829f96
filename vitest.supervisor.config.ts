/**
 * The test files that exercise the supervisor, for a mutation run of src/Supervisor/internal
 * alone (`npm run mutate:supervisor`): the rest of the suite adds only time there.
 */
import { defineConfig } from "vitest/config"
import base from "./vitest.config.js"

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ["test/Supervisor/**/*.test.ts", "test/Application/**/*.test.ts", "test/Process/fairness.test.ts"]
  }
})
