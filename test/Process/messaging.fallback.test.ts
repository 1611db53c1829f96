/**
 * The messaging suite again, with every handler on the public-API fallback path that Rain
 * takes when its start-up probes find an `effect` whose internals the fast loop does not
 * know (see src/Process/internal/runLoop.ts): slower, and it must give the same results.
 */
import { vi } from "@effect/vitest"
import { setMode } from "../../src/Process/internal/runLoop.js"
import "./messaging.test.js"

setMode("fiber")
// a fiber per message: the 100k-call test takes ~40 s here on a busy 2-core machine
vi.setConfig({ testTimeout: 180_000 })
