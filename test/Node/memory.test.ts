import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, TestClock } from "effect"
import type { Process as P } from "../../src/index.js"
import { Process, Testing } from "../../src/index.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"

/** Holds every message until the gate opens (its first handler waits), then counts them. */
const makeSink = (gate: Deferred.Deferred<void>) =>
  Process.make({
    name: "Sink",
    init: () => Effect.succeed(0),
    handleMessage: (_: number, count: number) => Deferred.await(gate).pipe(Effect.as(count + 1)),
    handleCall: (_: "count", _from, count: number) => Effect.succeed(Process.reply(count, count))
  })

interface Flood {
  readonly sink: P.Pid
  /** How each flooder stopped (a send to the probe would be refused too). */
  readonly results: Array<{ readonly sent: number; readonly error: string }>
}

/** Sends to `sink` until refused, then records how many it sent and why it stopped. */
const Flooder = Process.make({
  name: "Flooder",
  init: (args: Flood) => Effect.succeed(args),
  handleMessage: Effect.fnUntraced(function*(_: "go", s: Flood, ctx: P.Context<"go">) {
    let sent = 0
    for (;;) {
      const r = yield* Effect.either(ctx.send(s.sink, sent))
      if (r._tag === "Left") {
        s.results.push({ sent, error: r.left._tag })
        return s
      }
      sent++
      // Let the sampler's timer and the other flooders in.
      if (sent % 100 === 0) yield* Effect.yieldNow()
    }
  })
})

describe("limits.maxMemory", () => {
  it.scoped("a flooded node stays alive, refuses with MemoryLimit above the limit, and recovers below 90%", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ limits: { maxMemory: 1_000_000, memoryCheckInterval: "100 millis" } })
      const kernel = kernelOf(env.node)
      // The seam: the "heap" is 100 bytes per queued message plus a base, so flooding fills it.
      const queued = () => Array.from(kernel.procs.values()).reduce((n, p) => n + p.mailboxLength(), 0)
      let base = 200_000
      kernel.memory!.sample = () => base + queued() * 100
      const gate = yield* Deferred.make<void>()
      const sink = yield* env.spawn(makeSink(gate), undefined)
      const results: Flood["results"] = []
      const flooders = []
      for (let i = 0; i < 4; i++) flooders.push(yield* env.spawn(Flooder, { sink, results }))
      for (const f of flooders) yield* env.send(f, "go")
      // Sample while the flood runs, until every flooder has been refused.
      for (let i = 0; i < 500 && results.length < 4; i++) {
        yield* TestClock.adjust("100 millis")
        yield* Effect.yieldNow()
      }
      assert.isTrue((yield* env.node.metrics).memory?.shedding, "the node went above its limit")
      assert.deepStrictEqual(results.map((r) => r.error), ["MemoryLimit", "MemoryLimit", "MemoryLimit", "MemoryLimit"])
      const accepted = results.reduce((n, r) => n + r.sent, 0)
      // Refused while above: spawn, trySend (with the tagged error and its message), and node.send waits.
      const spawnError = yield* Effect.flip(env.spawn(makeSink(gate), undefined))
      assert.strictEqual(spawnError._tag, "MemoryLimit")
      const sendError = yield* Effect.flip(env.node.trySend(sink, -1))
      assert.strictEqual(sendError._tag, "MemoryLimit")
      assert.include(sendError.message, "limits.maxMemory")
      const waiting = yield* Effect.fork(env.node.send(sink, -2))
      yield* Effect.yieldNow()
      assert.isNull(waiting.unsafePoll(), "node.send waits while the node is above its limit")
      // The warning names the process with the largest mailbox.
      const warning = (yield* env.logs).find((l) => l.message.includes("memory above limits.maxMemory"))
      assert.isDefined(warning)
      assert.include(warning!.message, sink.toString())
      // Calls and system messages still work: the node is alive.
      assert.isTrue(Option.isSome(yield* env.node.info(sink)))
      // The flood stops and the sink drains: below 90% the node accepts again by itself.
      yield* Deferred.succeed(gate, undefined)
      base = 0
      // A call is not refused (it is a request, not load): when it returns, the sink has drained.
      assert.strictEqual(yield* env.call(sink, "count"), accepted)
      yield* TestClock.adjust("100 millis")
      assert.isFalse((yield* env.node.metrics).memory?.shedding)
      yield* Fiber.join(waiting)
      yield* env.node.trySend(sink, -3)
      yield* env.spawn(makeSink(gate), undefined)
      // Nothing accepted was lost: every accepted message, plus the waiting one and the last.
      assert.strictEqual(yield* env.call(sink, "count"), accepted + 2)
      assert.isTrue((yield* env.logs).some((l) => l.message.includes("memory back below 90%")))
    }))

  it.scoped("a bad limit is a tagged error that names the option", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Testing.make({ limits: { maxMemory: -5 } }))
      assert.strictEqual(error._tag, "InvalidNodeOption")
      assert.include(error.message, "limits.maxMemory")
    }))

  it.scopedLive("with the real heap sampler, a limit below the current heap makes the node shed load", () =>
    Effect.gen(function*() {
      const heap = process.memoryUsage().heapUsed
      const env = yield* Testing.make({ limits: { maxMemory: Math.floor(heap / 2), memoryCheckInterval: "10 millis" } })
      let error: string | undefined
      for (let i = 0; i < 100 && error === undefined; i++) {
        yield* Effect.sleep("10 millis")
        const r = yield* Effect.either(env.spawn(Process.make({ name: "Idle", init: () => Effect.void }), undefined))
        if (r._tag === "Left") error = r.left._tag
      }
      assert.strictEqual(error, "MemoryLimit")
      const metrics = yield* env.node.metrics
      assert.isTrue(metrics.memory!.sampled > metrics.memory!.limit)
      // Still alive: its processes answer.
      assert.isTrue(Option.isSome(yield* env.node.info(env.probe)))
    }))
})
