import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Metric, Schema, TestClock } from "effect"
import { Node, Process, Supervisor, Testing } from "rain"
import * as Telemetry from "rain/Telemetry"

class Ping extends Schema.TaggedRequest<Ping>()("Ping", { failure: Schema.Never, success: Schema.String, payload: {} }) {}
class Slow extends Schema.TaggedRequest<Slow>()("Slow", { failure: Schema.Never, success: Schema.String, payload: {} }) {}

const Echo = Process.make({
  name: "Echo",
  init: () => Effect.succeed(0),
  handleMessage: (message: string, n) => (message === "crash" ? Effect.die("crash on purpose") : Effect.succeed(n + 1)),
  handleCall: (request: Ping | Slow, _from, n) =>
    request._tag === "Ping" ? Effect.succeed(Process.reply("pong", n)) : Effect.succeed(Process.noReply(n))
})

/** Blocks in its first message, so that what follows stays queued. */
const Stuck = Process.make({
  name: "Stuck",
  init: () => Effect.succeed(undefined),
  handleMessage: (_: string) => Effect.never
})

const Crasher = Process.make({
  name: "Crasher",
  init: () => Effect.succeed(undefined),
  handleMessage: (_: string) => Effect.die("crash on purpose")
})

/** A counter series of one node, by its extra tags. */
const count = (metric: Metric.Metric.Counter<number>, node: string, tags: Record<string, string> = {}) => {
  let tagged = Metric.tagged(metric, "node", node)
  for (const [k, v] of Object.entries(tags)) tagged = Metric.tagged(tagged, k, v)
  return Effect.map(Metric.value(tagged), (state) => state.count)
}

const gaugeOf = (metric: Metric.Metric.Gauge<number>, node: string, tags: Record<string, string> = {}) => {
  let tagged = Metric.tagged(metric, "node", node)
  for (const [k, v] of Object.entries(tags)) tagged = Metric.tagged(tagged, k, v)
  return Effect.map(Metric.value(tagged), (state) => state.value)
}

const histogramOf = (metric: Metric.Metric.Histogram<number>, node: string) =>
  Metric.value(Metric.tagged(metric, "node", node))

describe("Telemetry.publish", () => {
  it.scoped("publishes spawns, exits by reason, messages, refusals, calls and timeouts to effect/Metric, tagged by node", () =>
    Effect.gen(function*() {
      const name = "published@localhost"
      const env = yield* Testing.make({ name })
      yield* Telemetry.publish(env.node, { interval: "1 second" })
      const echo = yield* env.spawn(Echo, undefined)
      for (let i = 0; i < 5; i++) yield* env.send(echo, "hello")
      assert.strictEqual(yield* env.call(echo, new Ping()), "pong")
      // A call nobody answers times out after 100 ms of Clock time.
      const slow = yield* Effect.fork(Effect.either(env.node.call(echo, new Slow(), "100 millis")))
      yield* TestClock.adjust("100 millis")
      const timedOut = yield* slow.await
      assert.isTrue(timedOut._tag === "Success" && timedOut.value._tag === "Left")
      // A crash is an exit with reason error.
      const crasher = yield* env.spawn(Crasher, undefined)
      yield* env.send(crasher, "go")
      assert.strictEqual((yield* env.exitReason(crasher))._tag, "error")
      // A full mailbox refuses trySend.
      const stuck = yield* env.spawn(Stuck, undefined, { mailboxSize: 1 })
      yield* env.node.trySend(stuck, "first")
      yield* Effect.yieldNow()
      yield* env.node.trySend(stuck, "queued")
      const refused = yield* Effect.flip(env.node.trySend(stuck, "refused"))
      assert.strictEqual(refused._tag, "MailboxFull")
      // node.send waits for room instead (backpressure): not a refusal.
      const waiting = yield* Effect.fork(env.node.send(stuck, "waits"))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(waiting)
      // A send to a dead local pid is dropped silently, and counted.
      yield* env.node.trySend(crasher, "too late")

      yield* TestClock.adjust("1 second")
      const m = Telemetry.metrics
      assert.strictEqual(yield* count(m.spawns, name), 4) // probe, echo, crasher, stuck
      assert.strictEqual(yield* count(m.exits, name, { reason: "error" }), 1)
      assert.strictEqual(yield* gaugeOf(m.processes, name), 3)
      assert.isAtLeast(yield* count(m.messagesIn, name), 7)
      assert.strictEqual(yield* count(m.calls, name), 2)
      assert.strictEqual(yield* count(m.callsTimedOut, name), 1)
      assert.strictEqual(yield* count(m.refused, name, { cause: "mailbox_full" }), 1)
      assert.strictEqual(yield* count(m.dropped, name, { cause: "no_process" }), 1)
      const latency = yield* histogramOf(m.callLatency, name)
      assert.strictEqual(latency.count, 1, "the answered call's latency (the timed-out one has none)")
      assert.isTrue(latency.min >= 0 && latency.max < 5)
      // Sampled mailbox depths: one observation per live process per interval; Stuck holds one message.
      const depth = yield* histogramOf(m.mailboxDepth, name)
      assert.isAtLeast(depth.count, 3)
      assert.isAtLeast(depth.max, 1)

      // Counters publish deltas: another interval with nothing new leaves them where they were.
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* count(m.spawns, name), 4)
      assert.strictEqual(yield* count(m.calls, name), 2)
      // ... and the depth of each of the 3 live processes is observed once more; Stuck's is 1.
      const again = yield* histogramOf(m.mailboxDepth, name)
      assert.strictEqual(again.count, depth.count + 3)
      const ones = (h: typeof depth) => h.buckets.find(([bound]) => bound === 1)![1] - h.buckets.find(([bound]) => bound === 0)![1]
      assert.strictEqual(ones(again), ones(depth) + 1)
    }))

  it.scoped("counts a supervisor's restarts under its registered name", () =>
    Effect.gen(function*() {
      const name = "restarts@localhost"
      const env = yield* Testing.make({ name })
      yield* Telemetry.publish(env.node, { interval: "1 second" })
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.oneForOne({ intensity: 5, period: "1 minute" }).pipe(
          Supervisor.child({ id: "echo", behaviour: Echo, args: undefined })
        ),
        { name: "top" }
      )
      for (let i = 0; i < 2; i++) {
        const children = yield* Supervisor.whichChildren(env.node, sup)
        const pid = children[0]!.pid!
        yield* env.send(pid, "crash")
        assert.strictEqual((yield* env.exitReason(pid))._tag, "error")
        yield* Effect.yieldNow()
      }
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* count(Telemetry.metrics.restarts, name, { supervisor: "top" }), 2)
    }))

  it.scoped("an interval that is not a positive duration fails with InvalidTelemetryOption", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ name: "badinterval@localhost" })
      const error = yield* Effect.flip(Telemetry.publish(env.node, { interval: "0 millis" }))
      assert.strictEqual(error._tag, "rain/Telemetry/InvalidTelemetryOption")
      assert.include(error.message, "interval")
    }))
})

describe("node.metrics()", () => {
  it.scopedLive("messageRate is over the last second and messageRate10s over the last ten", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("rates@localhost")
      const echo = yield* node.spawn(Echo, undefined)
      for (let i = 0; i < 1000; i++) yield* node.send(echo, "hello")
      yield* Effect.sleep("1100 millis")
      const busy = yield* node.metrics
      assert.strictEqual(busy.messagesIn, 1000)
      assert.isAbove(busy.messageRate, 0)
      // A second and more with nothing handled: the last second's rate is 0, the last 10 s' is not.
      yield* Effect.sleep("1100 millis")
      const idle = yield* node.metrics
      assert.strictEqual(idle.messageRate, 0)
      assert.isAbove(idle.messageRate10s, 0)
      assert.isBelow(idle.messageRate10s, 1000 / 2)
    }), { timeout: 20_000 })

  it.scoped("memoryBreakdown splits processes, mailboxes and the OS process's heap and rss", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("memory@localhost")
      const stuck = yield* node.spawn(Stuck, undefined)
      yield* node.send(stuck, "first")
      yield* Effect.yieldNow()
      for (let i = 0; i < 10; i++) yield* node.send(stuck, "queued")
      const { memoryBreakdown: m, memoryUsage, processCount } = yield* node.metrics
      assert.strictEqual(processCount, 1)
      assert.strictEqual(m.processesBytes, m.bytesPerProcess)
      assert.strictEqual(m.mailboxBytes, 10 * 64)
      assert.isAbove(m.heapUsed, 0)
      assert.isAtLeast(m.rss, m.heapUsed)
      assert.strictEqual(memoryUsage > 0, true)
    }))
})

describe("Telemetry.publish, stopping", () => {
  it.scoped("a publisher that stops publishes its last counts", () =>
    Effect.gen(function*() {
      const name = "last@localhost"
      const env = yield* Testing.make({ name })
      yield* Effect.scoped(
        Effect.gen(function*() {
          yield* Telemetry.publish(env.node, { interval: "1 hour" })
          yield* env.spawn(Echo, undefined)
        })
      )
      // The probe and Echo, though the hour never passed: the closing publication counted Echo.
      assert.strictEqual(yield* count(Telemetry.metrics.spawns, name), 2)
      // A second (and a third, concurrent) publisher of the same node does not count anything twice.
      yield* Effect.scoped(
        Effect.gen(function*() {
          yield* Telemetry.publish(env.node, { interval: "1 second" })
          yield* Telemetry.publish(env.node, { interval: "1 second" })
          yield* env.spawn(Echo, undefined)
          yield* TestClock.adjust("1 second")
        })
      )
      assert.strictEqual(yield* count(Telemetry.metrics.spawns, name), 3)
    }))
})
