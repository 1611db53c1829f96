/**
 * The whole suite as one project of isolated forked workers, for Stryker (`npm run mutate`):
 * its vitest runner reruns single tests per mutant and expects a plain configuration.
 */
import { defineConfig } from "vitest/config"
import base from "./vitest.config.js"

const { projects: _projects, ...test } = base.test!

export default defineConfig({ test })
