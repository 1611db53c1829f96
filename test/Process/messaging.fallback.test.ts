/**
 * The messaging suite again, with every handler on the public-API fallback path that Rain
 * takes when its start-up probes find an `effect` whose internals the fast loop does not
 * know (see src/Process/internal/runLoop.ts): slower, and it must give the same results.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { currentMode } from "../../src/Process/internal/runLoop.js"
import "./fallback-setup.js"
import "./messaging.test.js"

describe("fallback path", () => {
  it.effect("is the path these tests ran on", () => Effect.sync(() => assert.strictEqual(currentMode(), "fiber")))
})
