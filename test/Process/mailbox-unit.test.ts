/**
 * The mailbox lane (`src/Node/internal/mailbox.ts`) on its own: every send and receive goes
 * through it, so its length, its reset when emptied and its compaction are tested directly.
 */
import { assert, describe, it } from "@effect/vitest"
import { Lane } from "../../src/Node/internal/mailbox.js"

const fill = (lane: Lane, from: number, to: number): void => {
  for (let i = from; i < to; i++) lane.push(i)
}

describe("mailbox lane", () => {
  it("length counts what is left after shifts, in FIFO order", () => {
    const lane = new Lane()
    assert.strictEqual(lane.length, 0)
    fill(lane, 0, 5)
    assert.strictEqual(lane.length, 5)
    assert.strictEqual(lane.shift(), 0)
    assert.strictEqual(lane.shift(), 1)
    assert.strictEqual(lane.length, 3)
    lane.push(5)
    assert.strictEqual(lane.length, 4)
    assert.deepStrictEqual([lane.shift(), lane.shift(), lane.shift(), lane.shift()], [2, 3, 4, 5])
    assert.strictEqual(lane.length, 0)
  })

  it("emptied, it resets its array and head (no slot kept for a message already taken)", () => {
    const lane = new Lane()
    fill(lane, 0, 3)
    lane.shift()
    lane.shift()
    assert.strictEqual(lane.head, 2)
    lane.shift()
    assert.strictEqual(lane.head, 0)
    assert.strictEqual(lane.items.length, 0)
    lane.push("a")
    assert.strictEqual(lane.length, 1)
    assert.strictEqual(lane.shift(), "a")
  })

  it("a taken message's slot is cleared, so the lane does not keep it alive", () => {
    const lane = new Lane()
    const taken = { big: true }
    lane.push(taken)
    lane.push("next")
    assert.strictEqual(lane.shift(), taken)
    assert.strictEqual(lane.items[0], undefined)
  })

  it("compacts once 4096 messages were taken and they are at least half the array, keeping order and length", () => {
    const lane = new Lane()
    fill(lane, 0, 8192)
    for (let i = 0; i < 4095; i++) assert.strictEqual(lane.shift(), i)
    // 4095 taken: not yet
    assert.strictEqual(lane.head, 4095)
    assert.strictEqual(lane.items.length, 8192)
    assert.strictEqual(lane.shift(), 4095)
    // 4096 taken of 8192: half the array, compacted
    assert.strictEqual(lane.head, 0)
    assert.strictEqual(lane.items.length, 4096)
    assert.strictEqual(lane.length, 4096)
    assert.strictEqual(lane.items[0], 4096)
    lane.push(8192)
    for (let i = 4096; i <= 8192; i++) assert.strictEqual(lane.shift(), i)
    assert.strictEqual(lane.length, 0)
  })

  it("does not compact while the taken part is less than half the array", () => {
    const lane = new Lane()
    fill(lane, 0, 8193)
    for (let i = 0; i < 4096; i++) lane.shift()
    // 4096 taken of 8193: less than half
    assert.strictEqual(lane.head, 4096)
    assert.strictEqual(lane.items.length, 8193)
    assert.strictEqual(lane.length, 4097)
    lane.shift()
    // 4097 taken of 8193: now half, compacted
    assert.strictEqual(lane.head, 0)
    assert.strictEqual(lane.items.length, 4096)
    assert.strictEqual(lane.items[0], 4097)
    assert.strictEqual(lane.items[4095], 8192)
  })

  it("does not compact below 4096 taken, even when most of the array is taken", () => {
    const lane = new Lane()
    fill(lane, 0, 4000)
    for (let i = 0; i < 3999; i++) lane.shift()
    assert.strictEqual(lane.head, 3999)
    assert.strictEqual(lane.items.length, 4000)
    assert.strictEqual(lane.shift(), 3999)
    assert.strictEqual(lane.head, 0)
  })

  it("clear empties it and it works again afterwards", () => {
    const lane = new Lane()
    fill(lane, 0, 10)
    lane.shift()
    lane.clear()
    assert.strictEqual(lane.length, 0)
    assert.strictEqual(lane.head, 0)
    assert.deepStrictEqual(lane.items, [])
    lane.push("x")
    assert.strictEqual(lane.length, 1)
    assert.strictEqual(lane.shift(), "x")
  })
})
