import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
import { Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import type { Proc } from "../../src/Node/internal/proc.js"
import { setTrace, Trace } from "../../src/Node/internal/trace.js"

class Get extends Schema.TaggedRequest<Get>()("test/Trace/Get", { failure: Schema.Never, success: Schema.Number, payload: {} }) {}

/** Adds what it is sent (a string: its length); `{ watch }` monitors a pid (its DOWN is a handleInfo). */
const Adder = Process.make({
  name: "Adder",
  init: () => Effect.succeed(0),
  handleMessage: (n: number | string | { readonly watch: Process.Pid }, total: number, ctx) =>
    typeof n === "object"
      ? Effect.as(ctx.monitor(n.watch), total)
      : Effect.succeed(total + (typeof n === "number" ? n : n.length)),
  handleCall: (_: Get, _from, total: number) => Effect.succeed(Process.reply(total, total)),
  handleInfo: (_: unknown, total: number) => Effect.succeed(total)
})

describe("message trace (Process.trace)", () => {
  it.scoped("off by default; on keeps the last N handled messages in order, with time and kind; off forgets", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Adder, undefined)
      yield* env.send(pid, 1)
      assert.strictEqual(yield* env.call(pid, new Get()), 1)
      // Nothing is kept while tracing is off.
      assert.isUndefined(yield* Process.traced(pid))
      yield* Process.trace(pid, { last: 3 })
      assert.deepStrictEqual(yield* Process.traced(pid), [])
      yield* TestClock.adjust("1 second")
      const t0 = yield* TestClock.currentTimeMillis
      for (const n of [10, 20, 30, 40]) yield* env.send(pid, n)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* env.call(pid, new Get()), 101)
      const entries = (yield* Process.traced(pid))!
      // The ring kept the last three (10 and 20 went), oldest first.
      assert.deepStrictEqual(entries.map((e) => [e.kind, e.message]), [
        ["message", "30"],
        ["message", "40"],
        ["call", "Get { _tag: 'test/Trace/Get' }"]
      ])
      assert.strictEqual(entries[0]!.at, t0)
      assert.strictEqual(entries[2]!.at, t0 + 1000)
      // Growing the trace keeps what it has; a huge message is cut, a system message is "info".
      yield* Process.trace(pid, { last: 10 })
      yield* env.send(pid, "x".repeat(100_000))
      const short = yield* env.spawn(Adder, undefined)
      yield* env.send(pid, { watch: short })
      assert.strictEqual(yield* env.call(pid, new Get()), 100_101)
      yield* env.node.exit(short, Process.ExitReason.kill)
      yield* env.node.awaitExit(short)
      assert.strictEqual(yield* env.call(pid, new Get()), 100_101)
      const grown = (yield* Process.traced(pid))!
      assert.deepStrictEqual(grown.slice(0, 3).map((e) => e.message), ["30", "40", "Get { _tag: 'test/Trace/Get' }"])
      assert.deepStrictEqual(grown.map((e) => e.kind), ["message", "message", "call", "message", "message", "call", "info", "call"])
      assert.match(grown[6]!.message, /Down/)
      const big = grown.find((e) => e.message.startsWith("'xxx"))!
      assert.strictEqual(big.kind, "message")
      assert.isAtMost(big.message.length, 503)
      // Off: forgotten, and nothing more is kept.
      yield* Process.untrace(pid)
      yield* env.send(pid, 5)
      assert.strictEqual(yield* env.call(pid, new Get()), 100_106)
      assert.isUndefined(yield* Process.traced(pid))
    }))

  it.scoped("bad sizes, dead and remote processes fail with TraceFailed; a traced process's exit takes its trace", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Adder, undefined)
      for (const last of [0, -1, 1.5, 10_001]) {
        const bad = yield* Effect.flip(Process.trace(pid, { last }))
        assert.strictEqual(bad.reason, "invalid")
        assert.match(bad.message, /last must be a whole number from 1 to 10000/)
      }
      yield* Process.trace(pid, { last: 2 })
      yield* env.send(pid, 1)
      assert.strictEqual(yield* env.call(pid, new Get()), 1)
      yield* env.node.exit(pid, Process.ExitReason.kill)
      yield* env.node.awaitExit(pid)
      for (const op of [Process.traced(pid), Process.trace(pid, { last: 2 }), Process.untrace(pid)]) {
        const gone = yield* Effect.flip(op)
        assert.strictEqual(gone.reason, "noproc")
        assert.match(gone.message, /it is not alive/)
      }
      const remote = yield* Effect.flip(Process.traced(new Process.Pid({ node: "elsewhere@10.0.0.1", id: 5, creation: 1 })))
      assert.strictEqual(remote.reason, "remote")
      // The node goes on.
      const other = yield* env.spawn(Adder, undefined)
      assert.strictEqual(yield* env.call(other, new Get()), 0)
    }))
})

describe("the trace ring", () => {
  const entries = (proc: { trace: Trace | null }) => proc.trace!.entries().map((entry) => entry.message)

  it("keeps the newest `last` entries oldest first; resizing keeps the newest that fit; 0 turns it off", () => {
    const proc = { trace: null as Trace | null }
    setTrace(proc as unknown as Proc, 5)
    for (let i = 1; i <= 3; i++) proc.trace!.record(i, "message", i)
    assert.deepStrictEqual(entries(proc), ["1", "2", "3"])
    for (let i = 4; i <= 7; i++) proc.trace!.record(i, "message", i)
    assert.deepStrictEqual(entries(proc), ["3", "4", "5", "6", "7"])
    const same = proc.trace
    setTrace(proc as unknown as Proc, 5)
    assert.strictEqual(proc.trace, same, "the same size keeps the trace as it is")
    setTrace(proc as unknown as Proc, 3)
    assert.deepStrictEqual(entries(proc), ["5", "6", "7"])
    setTrace(proc as unknown as Proc, 8)
    assert.deepStrictEqual(entries(proc), ["5", "6", "7"])
    proc.trace!.record(8, "call", 8)
    assert.deepStrictEqual(entries(proc), ["5", "6", "7", "8"])
    assert.deepStrictEqual(proc.trace!.entries().map((entry) => [entry.at, entry.kind]).at(-1), [8, "call"])
    setTrace(proc as unknown as Proc, 0)
    assert.isNull(proc.trace)
  })

  it("a message whose inspection throws is traced as such", () => {
    const trace = new Trace(2)
    trace.record(1, "message", { [Symbol.for("nodejs.util.inspect.custom")]: () => { throw new Error("no view") } })
    assert.deepStrictEqual(trace.entries().map((entry) => entry.message), ["<cannot render: no view>"])
  })
})
