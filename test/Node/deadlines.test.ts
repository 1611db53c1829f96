import { afterEach, assert, beforeEach, describe, it, vi } from "@effect/vitest"
import { Effect } from "effect"
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

  it("a lane that went idle holds the process again for its next call, with its one timer", () => {
    const deadlines = new Deadlines()
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length
    const before = timeouts()
    deadlines.start(Date.now(), 60_000, () => assert.fail("answered"))()
    assert.strictEqual(timeouts(), before, "idle: let go")
    const cancels = [0, 1, 2].map(() => deadlines.start(Date.now(), 60_000, () => assert.fail("answered")))
    assert.strictEqual(timeouts(), before + 1, "three calls of one lane: one timer, held again")
    for (const cancel of cancels) cancel()
    assert.strictEqual(timeouts(), before, "idle again: let go again")
  })

  it.live("a lane that re-armed after a timeout lets the process go once the rest is answered", () =>
    Effect.gen(function*() {
      const deadlines = new Deadlines()
      const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length
      let fired = false
      deadlines.start(Date.now(), 400, () => (fired = true))
      yield* Effect.sleep("200 millis")
      const cancel = deadlines.start(Date.now(), 400, () => assert.fail("answered"))
      // the first times out at 400 ms, the second is due at 600
      while (!fired) yield* Effect.sleep("2 millis")
      const armed = timeouts()
      cancel()
      assert.strictEqual(timeouts(), armed - 1, "answered: the lane's timer lets go")
    }))
})

/**
 * The bounds the module's comment promises, as exact figures: a lane is compacted when its
 * answered entries pass 256 and outnumber the live ones, the fired entries at its head are
 * dropped when they pass 256 and make up more than half of it, and a lane with nothing
 * outstanding goes. (`size` counts what the lanes' arrays hold.)
 */
describe("call deadlines: what a lane holds", () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  /** `n` calls of one lane (100 ms) made now; returns their cancels. */
  const calls = (deadlines: Deadlines, n: number, fired?: Array<number>) =>
    Array.from({ length: n }, (_, i) => deadlines.start(Date.now(), 100, () => fired?.push(i)))

  it("answered entries are dropped once they pass 256 and outnumber the live ones", () => {
    const deadlines = new Deadlines()
    const cancels = calls(deadlines, 301)
    assert.strictEqual(deadlines.size, 301)
    // Answered from the second on: the first stays live, so the lane is never empty.
    for (let i = 1; i <= 256; i++) cancels[i]!()
    assert.strictEqual(deadlines.size, 301, "256 answered: kept (not more than 256)")
    cancels[257]!()
    assert.strictEqual(deadlines.size, 44, "257 answered, 44 live: compacted to the live ones")
  })

  it("answered entries are kept while the live ones are as many or more", () => {
    const deadlines = new Deadlines()
    const cancels = calls(deadlines, 600)
    for (let i = 0; i < 300; i++) cancels[i]!()
    assert.strictEqual(deadlines.size, 600, "300 answered, 300 live: kept")
    cancels[300]!()
    assert.strictEqual(deadlines.size, 299, "301 answered, 299 live: compacted")
  })

  it("fired entries at a lane's head are dropped once they pass 256 and are more than half of it", () => {
    const due = (first: number, later: number) => {
      const deadlines = new Deadlines()
      const fired: Array<number> = []
      calls(deadlines, first, fired)
      vi.advanceTimersByTime(50)
      calls(deadlines, later)
      vi.advanceTimersByTime(50)
      assert.strictEqual(fired.length, first)
      return deadlines.size
    }
    assert.strictEqual(due(600, 10), 10, "600 fired of 610: dropped")
    assert.strictEqual(due(256, 1), 257, "256 fired: kept (not more than 256)")
    assert.strictEqual(due(300, 400), 700, "300 fired of 700: kept (not more than half)")
    assert.strictEqual(due(300, 300), 600, "300 fired of 600: kept (exactly half)")
  })

  it("a new lane holds only its own call; a fired call answered afterwards changes nothing", () => {
    const deadlines = new Deadlines()
    const fired: Array<number> = []
    const [first] = calls(deadlines, 1, fired)
    assert.strictEqual(deadlines.size, 1)
    vi.advanceTimersByTime(100)
    assert.deepStrictEqual(fired, [0])
    first!() // the reply came after the timeout
    assert.strictEqual(deadlines.size, 0)
    assert.strictEqual(deadlines.laneCount, 0)
  })

  it("answering a call twice is answering it once: the other calls still time out", () => {
    const deadlines = new Deadlines()
    const fired: Array<number> = []
    const cancels = calls(deadlines, 2, fired)
    cancels[0]!()
    cancels[0]!()
    vi.advanceTimersByTime(100)
    assert.deepStrictEqual(fired, [1])
  })

  it("after a call times out, answering the next one leaves the lane empty", () => {
    const deadlines = new Deadlines()
    const fired: Array<string> = []
    deadlines.start(Date.now(), 100, () => fired.push("a"))
    vi.advanceTimersByTime(50)
    const cancelB = deadlines.start(Date.now(), 100, () => fired.push("b"))
    vi.advanceTimersByTime(50)
    assert.deepStrictEqual(fired, ["a"])
    cancelB()
    assert.strictEqual(deadlines.size, 0, "nothing outstanding: nothing held")
    vi.advanceTimersByTime(100)
    assert.deepStrictEqual(fired, ["a"])
  })

  it("a lane re-arms for its oldest outstanding call, past answered ones", () => {
    const deadlines = new Deadlines()
    const fired: Array<string> = []
    deadlines.start(Date.now(), 100, () => fired.push("a"))
    vi.advanceTimersByTime(30)
    const cancelB = deadlines.start(Date.now(), 100, () => fired.push("b"))
    vi.advanceTimersByTime(30)
    deadlines.start(Date.now(), 100, () => fired.push("c"))
    cancelB()
    vi.advanceTimersByTime(40)
    assert.deepStrictEqual(fired, ["a"])
    vi.advanceTimersByTime(59)
    assert.deepStrictEqual(fired, ["a"])
    vi.advanceTimersByTime(1)
    assert.deepStrictEqual(fired, ["a", "c"])
  })

  it("a timeout that answers the lane's last other call (its task replies to another caller) is fine", () => {
    const deadlines = new Deadlines()
    const fired: Array<string> = []
    let cancelB: () => void = () => {}
    deadlines.start(Date.now(), 100, () => {
      fired.push("a")
      cancelB()
    })
    vi.advanceTimersByTime(50)
    cancelB = deadlines.start(Date.now(), 100, () => fired.push("b"))
    vi.advanceTimersByTime(100)
    assert.deepStrictEqual(fired, ["a"])
    assert.strictEqual(deadlines.size, 0)
  })

  it("an entry due within 1 ms of the one firing fires with it (libuv's clock and Date.now differ by that much)", () => {
    const deadlines = new Deadlines()
    const fired: Array<string> = []
    deadlines.start(Date.now(), 100, () => fired.push("a"))
    vi.advanceTimersByTime(1)
    deadlines.start(Date.now(), 100, () => fired.push("b"))
    vi.advanceTimersByTime(99)
    assert.deepStrictEqual(fired, ["a", "b"])
  })

  it("timeouts of many lengths do not pile up lanes", () => {
    const deadlines = new Deadlines()
    let fired = 0
    for (let millis = 1; millis <= 100; millis++) deadlines.start(Date.now(), millis, () => fired++)
    assert.strictEqual(deadlines.laneCount, 100)
    vi.advanceTimersByTime(100)
    assert.strictEqual(fired, 100)
    assert.strictEqual(deadlines.laneCount, 0)
  })
})
