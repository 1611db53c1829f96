/**
 * The test files that exercise the supervisor, for a mutation run of src/Supervisor/internal
 * alone (`npm run mutate:supervisor`): the rest of the suite adds only time there. One isolated
 * forked worker per file, as Stryker's vitest runner expects.
 */
import { defineConfig } from "vitest/config"
import base from "./vitest.config.js"

const { projects: _projects, ...test } = base.test!

export default defineConfig({
  test: {
    ...test,
    include: ["test/Supervisor/**/*.test.ts", "test/Application/**/*.test.ts", "test/Process/fairness.test.ts"]
  }
})
