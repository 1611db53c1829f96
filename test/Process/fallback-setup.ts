/**
 * Imported first by messaging.fallback.test.ts, before the suite it re-runs registers its
 * tests: every handler on the fallback path, and room for a fiber per message.
 */
import { vi } from "@effect/vitest"
import { setMode } from "../../src/Process/internal/runLoop.js"

setMode("fiber")
// the 100k-call test takes ~40 s on this path on a quiet 2-core machine
vi.setConfig({ testTimeout: 240_000 })
