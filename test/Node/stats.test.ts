/**
 * The kernel's counters as a data structure (src/Node/internal/stats.ts): exits by reason,
 * restarts by supervisor, the call-latency reservoir and the message rate over 1 s and 10 s,
 * with times given (no clock), so each figure is exact.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import { Process } from "../../src/index.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"
import { LATENCY_SLOTS, NodeStats } from "../../src/Node/internal/stats.js"
import * as Testing from "../testing.js"

describe("NodeStats", () => {
  it("counts exits by reason tag and restarts by supervisor", () => {
    const stats = new NodeStats(0)
    stats.exited(Process.ExitReason.normal)
    stats.exited(Process.ExitReason.normal)
    stats.exited(Process.ExitReason.error("boom"))
    stats.restarted("top")
    stats.restarted("top")
    stats.restarted("other")
    assert.deepStrictEqual(Object.fromEntries(stats.exits), { normal: 2, error: 1 })
    assert.deepStrictEqual(Object.fromEntries(stats.restarts), { top: 2, other: 1 })
  })

  it("keeps the latencies since the last take, the newest over the oldest past the reservoir's size", () => {
    const stats = new NodeStats(0)
    assert.isFalse(stats.timeCalls, "calls are not timed until a publisher asks")
    assert.deepStrictEqual(stats.takeLatencies(), { values: new Float64Array(0), total: 0 })
    stats.latency(1.5)
    stats.latency(2.5)
    stats.latency(4)
    assert.deepStrictEqual(stats.takeLatencies(), { values: Float64Array.from([1.5, 2.5, 4]), total: 3 })
    assert.strictEqual(stats.takeLatencies().total, 0, "a take empties the reservoir")
    for (let i = 0; i < LATENCY_SLOTS + 3; i++) stats.latency(i)
    const { total, values } = stats.takeLatencies()
    assert.strictEqual(total, LATENCY_SLOTS + 3)
    assert.strictEqual(values.length, LATENCY_SLOTS)
    // slots 0..2 were overwritten by the three newest
    assert.deepStrictEqual(Array.from(values.slice(0, 4)), [LATENCY_SLOTS, LATENCY_SLOTS + 1, LATENCY_SLOTS + 2, 3])
    assert.strictEqual(values[LATENCY_SLOTS - 1], LATENCY_SLOTS - 1)
  })

  it("the rate over 1 s and 10 s: from the newest sample that old, samples a second apart at most once a second", () => {
    const stats = new NodeStats(1_000)
    assert.strictEqual(stats.nextTick, 2_000)
    assert.strictEqual(stats.rate(1, 1_000, 0), 0, "no time elapsed: 0, not a division by zero")
    // before the first tick is due, from the start
    assert.strictEqual(stats.rate(1, 1_500, 100), 200)
    assert.strictEqual(stats.nextTick, 2_000, "reading the rate early takes no sample")
    // 1,000 messages a second from t = 1 s on, a sample a second
    for (let t = 2_000; t <= 6_000; t += 1_000) stats.tick(t, (t - 1_000))
    assert.strictEqual(stats.nextTick, 7_000)
    // 500 ms after the newest sample: the 1 s window reaches back to the sample before it
    assert.strictEqual(stats.rate(1, 6_500, 5_500), 1_000)
    // the 10 s window reaches back to the start (the oldest kept)
    assert.strictEqual(stats.rate(10, 6_500, 5_500), 1_000)
    // the rate moved to 3,000/s in the last second: the 1 s window sees it, the 10 s one dilutes it
    assert.strictEqual(stats.rate(1, 7_000, 8_000), 3_000)
    assert.strictEqual(stats.nextTick, 8_000, "a read at or past the due time takes the sample")
    assert.strictEqual(stats.rate(10, 7_000, 8_000), 8_000 / 6)
  })

  it("the 10 s window slides once more than ten samples are kept (a ring of eleven)", () => {
    const stats = new NodeStats(0)
    // 100 messages a second for 20 s, then 1,100 a second for 5 s
    let messages = 0
    for (let t = 1_000; t <= 25_000; t += 1_000) {
      messages += t <= 20_000 ? 100 : 1_100
      stats.tick(t, messages)
    }
    // from the sample 10 s back (t = 15 s: 1,500 messages) to now (t = 25 s: 7,500)
    assert.strictEqual(stats.rate(10, 25_000, messages), (messages - 1_500) / 10)
    assert.strictEqual(stats.rate(1, 25_000, messages), 1_100)
  })

  it("an idle gap dilutes the rate: the window is the gap since the newest older sample", () => {
    const stats = new NodeStats(0)
    stats.tick(1_000, 1_000)
    // idle until t = 5 s, when 400 more have come in
    assert.strictEqual(stats.rate(1, 5_000, 1_400), 100)
    assert.strictEqual(stats.rate(10, 5_000, 1_400), 1_400 / 5)
  })

  it.scoped("the memory breakdown counts the messages queued in every mailbox", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const gate = yield* Deferred.make<void>()
      const held = Process.make({
        name: "Held",
        init: (probe: Process.Pid) => Effect.succeed(probe),
        handleMessage: (_: number, probe, ctx) =>
          Effect.zipRight(ctx.send(probe, "holding"), Effect.as(Deferred.await(gate), probe))
      })
      const a = yield* env.spawn(held, env.probe)
      const b = yield* env.spawn(held, env.probe)
      for (let i = 0; i < 4; i++) yield* env.send(a, i)
      for (let i = 0; i < 3; i++) yield* env.send(b, i)
      // each has taken its first message and waits in its handler with the rest queued
      assert.deepStrictEqual([yield* env.receive(), yield* env.receive()], ["holding", "holding"])
      const { memoryBreakdown } = yield* env.node.metrics
      assert.strictEqual(memoryBreakdown.mailboxBytes, (3 + 2) * 64)
      yield* Deferred.succeed(gate, undefined)
    }))

  it.scoped("a node times calls only while asked (a publisher): one latency per completed call", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const stats = kernelOf(env.node).stats
      const echo = yield* env.spawn(
        Process.make({
          name: "Echo",
          init: () => Effect.void,
          handleCall: (n: number) => Effect.succeed(Process.reply(n, undefined))
        }),
        undefined
      )
      yield* env.node.call(echo, 1)
      assert.strictEqual(stats.takeLatencies().total, 0)
      stats.timeCalls = true
      yield* env.node.call(echo, 2)
      yield* env.node.call(echo, 3)
      const taken = stats.takeLatencies()
      assert.strictEqual(taken.total, 2)
      for (const millis of taken.values) assert.isAtLeast(millis, 0)
    }))
})
