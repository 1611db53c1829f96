/**
 * The kernel's two timer queues as data structures: `ClockTimers` (a heap of deadlines on a
 * test Clock, one sleeping fiber) and `Deadlines` (call timeouts on the live clock, a FIFO
 * lane per timeout length). Many timers, equal deadlines, cancels in any order: each must
 * fire once, in deadline order (ties in the order set), never when cancelled, and the
 * queues must not keep what was cancelled. Written against the survivors of the mutation
 * run of part `core3` (issue 24).
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, TestClock } from "effect"
import { Deadlines } from "../../src/Node/internal/deadlines.js"
import { ClockTimers } from "../../src/Node/internal/timers.js"
import { within } from "../Process/helpers.js"

/** A fixed pseudo-random sequence (xorshift), so that a failure replays. */
const random = (seed: number) => () => {
  seed ^= seed << 13
  seed ^= seed >>> 17
  seed ^= seed << 5
  return (seed >>> 0) / 4294967296
}

/** Polls `f` every 5 ms of real time until it holds, for at most 5 s. */
const poll = (what: string, f: () => boolean) =>
  within(
    Effect.gen(function*() {
      while (!f()) yield* Effect.sleep("5 millis")
    }),
    what,
    5
  )

describe("ClockTimers", () => {
  it.effect("fires every live timer once, by deadline then by the order set, and none that was cancelled", () =>
    Effect.gen(function*() {
      const timers = new ClockTimers(yield* Effect.clock, yield* Effect.runtime<never>())
      const next = random(7)
      const fired: Array<number> = []
      const expected: Array<{ readonly at: number; readonly seq: number }> = []
      const cancels: Array<() => void> = []
      for (let seq = 0; seq < 300; seq++) {
        // few distinct deadlines, so that ties are common (none at 0: a timer due now fires inside `start`)
        const at = (1 + Math.floor(next() * 20)) * 50
        cancels.push(timers.start(at, () => fired.push(seq)))
        expected.push({ at, seq })
      }
      const cancelled = new Set<number>()
      for (let seq = 0; seq < 300; seq++) {
        if (next() < 0.7) {
          cancels[seq]!()
          cancels[seq]!() // twice is once
          cancelled.add(seq)
        }
      }
      assert.isAtMost(timers.size, 2 * (300 - cancelled.size) + 1, "cancelled entries do not pile up")
      // A timer set now, behind the others due at the same time, and one cancelled at once.
      cancels.push(timers.start(50, () => fired.push(300)))
      timers.start(50, () => fired.push(-1))()
      yield* TestClock.adjust("1 second")
      const order = expected.filter((e) => !cancelled.has(e.seq)).sort((a, b) => a.at - b.at || a.seq - b.seq)
      // seq 300 (at 50) was set last: after every other timer due at 50.
      const dueFirst = order.filter((e) => e.at === 50).length
      const want = order.map((e) => e.seq)
      want.splice(dueFirst, 0, 300)
      assert.deepStrictEqual(fired, want)
      assert.strictEqual(timers.size, 0)
      // Still works after it ran dry: a later timer fires on time, not before.
      timers.start(100, () => fired.push(301))
      yield* TestClock.adjust("99 millis")
      assert.notInclude(fired, 301)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(fired.at(-1), 301)
    }))
})

describe("ClockTimers: what the heap holds", () => {
  const make = Effect.gen(function*() {
    return new ClockTimers(yield* Effect.clock, yield* Effect.runtime<never>())
  })

  it.effect("cancelled entries stay until they are more than half the heap, then go; live counts only the others", () =>
    Effect.gen(function*() {
      const timers = yield* make
      const cancels = [1, 2, 3, 4].map((n) => timers.start(n * 100, () => assert.fail("cancelled")))
      cancels[0]!()
      cancels[1]!()
      cancels[1]!() // twice is once
      assert.strictEqual(timers.size, 4, "2 cancelled of 4: kept (not more than half)")
      assert.strictEqual(timers.live, 2)
      cancels[2]!()
      assert.strictEqual(timers.size, 1, "3 cancelled of 4: the heap is rebuilt from the live one")
      assert.strictEqual(timers.live, 1)
      cancels[2]!()
      assert.strictEqual(timers.live, 1, "cancelling a compacted entry again counts nothing")
      cancels[3]!()
      assert.strictEqual(timers.live, 0)
    }))

  it.effect("a timer cancelled after it fired counts nothing", () =>
    Effect.gen(function*() {
      const timers = yield* make
      const fired: Array<string> = []
      const cancelA = timers.start(10, () => fired.push("a"))
      for (const name of ["b", "c", "d"]) timers.start(100, () => fired.push(name))
      yield* TestClock.adjust("10 millis")
      assert.deepStrictEqual(fired, ["a"])
      cancelA()
      assert.strictEqual(timers.live, 3)
      assert.strictEqual(timers.size, 3)
      yield* TestClock.adjust("90 millis")
      assert.deepStrictEqual(fired, ["a", "b", "c", "d"])
      assert.strictEqual(timers.live, 0)
    }))

  it.effect("after firing, the one sleep is for the next live timer, past cancelled ones", () =>
    Effect.gen(function*() {
      const timers = yield* make
      const fired: Array<number> = []
      timers.start(100, () => fired.push(100))
      const cancel200 = timers.start(200, () => fired.push(200))
      timers.start(300, () => fired.push(300))
      cancel200()
      yield* TestClock.adjust("100 millis")
      assert.deepStrictEqual(fired, [100])
      assert.deepStrictEqual(Chunk.toArray(yield* TestClock.sleeps()), [300])
      assert.strictEqual(timers.size, 1, "the cancelled entry on top was dropped")
      assert.strictEqual(timers.live, 1)
      yield* TestClock.adjust("200 millis")
      assert.deepStrictEqual(fired, [100, 300])
    }))

  it.effect("many distinct deadlines set in random order fire in deadline order", () =>
    Effect.gen(function*() {
      const timers = yield* make
      const next = random(23)
      const fired: Array<number> = []
      const deadlines = Array.from({ length: 200 }, (_, i) => i + 1)
      for (let i = deadlines.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1))
        ;[deadlines[i], deadlines[j]] = [deadlines[j]!, deadlines[i]!]
      }
      const cancels = deadlines.map((at) => timers.start(at, () => fired.push(at)))
      // cancel a third (below half: no compaction), then fire in steps so that pops interleave
      const cancelled = new Set<number>()
      deadlines.forEach((at, i) => {
        if (at % 3 === 0) {
          cancels[i]!()
          cancelled.add(at)
        }
      })
      for (let t = 0; t < 200; t += 50) yield* TestClock.adjust("50 millis")
      assert.deepStrictEqual(fired, Array.from({ length: 200 }, (_, i) => i + 1).filter((at) => !cancelled.has(at)))
      assert.strictEqual(timers.size, 0)
    }))

  it.effect("a later timer set after all the others were compacted away still fires", () =>
    Effect.gen(function*() {
      const timers = yield* make
      const fired: Array<number> = []
      const cancels = [100, 200, 300].map((at) => timers.start(at, () => fired.push(at)))
      for (const cancel of cancels) cancel()
      assert.strictEqual(timers.size, 0)
      yield* TestClock.adjust("100 millis") // the sleep for 100 wakes into an empty heap
      timers.start(50, () => fired.push(150))
      yield* TestClock.adjust("50 millis")
      assert.deepStrictEqual(fired, [150])
    }))
})

describe("Deadlines", () => {
  it.live("fires the live entries of each lane once, in order, drops the cancelled, and compacts a lane of mostly cancelled ones", () =>
    Effect.gen(function*() {
      const deadlines = new Deadlines()
      const fired: Array<string> = []
      const now = Date.now()
      const short: Array<() => void> = []
      // Two lengths; in the 40 ms lane, 600 entries of which 400 get cancelled out of order.
      for (let i = 0; i < 600; i++) short.push(deadlines.start(now, 40, () => fired.push(`s${i}`)))
      for (let i = 0; i < 5; i++) deadlines.start(now, 60, () => fired.push(`l${i}`))
      const next = random(11)
      const cancelled = new Set<number>()
      while (cancelled.size < 400) {
        const i = Math.floor(next() * 600)
        if (cancelled.has(i)) continue
        short[i]!()
        cancelled.add(i)
      }
      assert.isAtMost(deadlines.size, 2 * (200 + 5), "a lane of mostly cancelled entries is compacted")
      const expected = [
        ...Array.from({ length: 600 }, (_, i) => i).filter((i) => !cancelled.has(i)).map((i) => `s${i}`),
        ...Array.from({ length: 5 }, (_, i) => `l${i}`)
      ]
      yield* poll("every live deadline to fire", () => fired.length >= expected.length)
      yield* Effect.sleep("20 millis") // and nothing more
      assert.deepStrictEqual(fired, expected)
      assert.strictEqual(deadlines.size, 0, "nothing is kept once all fired")
      // A lane that went idle and came back fires again.
      deadlines.start(Date.now(), 40, () => fired.push("again"))
      yield* poll("the lane to fire again", () => fired.at(-1) === "again")
    }))
})
