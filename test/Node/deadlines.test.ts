import { afterEach, assert, beforeEach, describe, it, vi } from "@effect/vitest"
import { Deadlines } from "../../src/Node/internal/deadlines.js"

describe("call deadlines on the live clock", () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("fires at the deadline, not before; a cancelled entry never fires", () => {
    const deadlines = new Deadlines()
    const fired: Array<string> = []
    deadlines.start(Date.now(), 100, () => fired.push("a"))
    const cancelB = deadlines.start(Date.now(), 100, () => fired.push("b"))
    vi.advanceTimersByTime(40)
    deadlines.start(Date.now(), 100, () => fired.push("c"))
    cancelB()
    vi.advanceTimersByTime(59)
    assert.deepStrictEqual(fired, [])
    vi.advanceTimersByTime(1)
    assert.deepStrictEqual(fired, ["a"])
    vi.advanceTimersByTime(39)
    assert.deepStrictEqual(fired, ["a"], "c is due at 140")
    vi.advanceTimersByTime(1)
    assert.deepStrictEqual(fired, ["a", "c"])
    assert.strictEqual(deadlines.size, 0)
  })

  it("lanes of different lengths keep their own order", () => {
    const deadlines = new Deadlines()
    const fired: Array<number> = []
    deadlines.start(Date.now(), 300, () => fired.push(300))
    deadlines.start(Date.now(), 100, () => fired.push(100))
    deadlines.start(Date.now(), 200, () => fired.push(200))
    vi.advanceTimersByTime(300)
    assert.deepStrictEqual(fired, [100, 200, 300])
  })

  it("a call made by a firing task gets its own deadline, and the entries behind still fire on time", () => {
    const deadlines = new Deadlines()
    const fired: Array<string> = []
    deadlines.start(Date.now(), 100, () => {
      fired.push("first")
      deadlines.start(Date.now(), 100, () => fired.push("made while firing"))
    })
    vi.advanceTimersByTime(50)
    deadlines.start(Date.now(), 100, () => fired.push("second"))
    vi.advanceTimersByTime(50)
    assert.deepStrictEqual(fired, ["first"])
    vi.advanceTimersByTime(50)
    assert.deepStrictEqual(fired, ["first", "second"], "due at 150, not pushed back to 200 by the call made at 100")
    vi.advanceTimersByTime(50)
    assert.deepStrictEqual(fired, ["first", "second", "made while firing"])
  })

  it("answered calls do not pile up: sequential and concurrent callers keep the lane near its live size", () => {
    const deadlines = new Deadlines()
    for (let i = 0; i < 10_000; i++) deadlines.start(Date.now(), 5_000, () => assert.fail("answered"))()
    assert.strictEqual(deadlines.size, 0, "one call at a time: nothing kept")
    const live: Array<() => void> = []
    for (let i = 0; i < 100; i++) live.push(deadlines.start(Date.now(), 5_000, () => {}))
    for (let i = 0; i < 100_000; i++) {
      live.push(deadlines.start(Date.now(), 5_000, () => {}))
      live.shift()!()
    }
    assert.isAtMost(deadlines.size, 2 * 100 + 512, `100 calls in flight, ${deadlines.size} entries held`)
  })
})

describe("call deadlines and the event loop", () => {
  it("a lane whose calls are all answered does not keep the process alive", () => {
    const deadlines = new Deadlines()
    const before = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length
    const cancel = deadlines.start(Date.now(), 60_000, () => assert.fail("answered"))
    assert.strictEqual(process.getActiveResourcesInfo().filter((r) => r === "Timeout").length, before + 1)
    cancel()
    assert.strictEqual(process.getActiveResourcesInfo().filter((r) => r === "Timeout").length, before)
    deadlines.start(Date.now(), 60_000, () => assert.fail("answered"))()
  })
})
