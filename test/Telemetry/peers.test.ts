import { assert, describe, it } from "@effect/vitest"
import { Effect, Metric, Schedule, Schema } from "effect"
import { Node, Process } from "rain"
import * as Telemetry from "rain/Telemetry"

class Ping extends Schema.TaggedRequest<Ping>()("Ping", { failure: Schema.Never, success: Schema.String, payload: {} }) {}

const Echo = Process.make({
  name: "Echo",
  init: () => Effect.succeed(undefined),
  handleCall: (_: Ping, _from, s) => Effect.succeed(Process.reply("pong", s))
})

const network = (cookie: string, routes: Record<string, string> = {}) => ({
  host: "127.0.0.1",
  port: 0,
  cookie,
  messages: [Ping],
  routes,
  connectTimeout: "2 seconds" as const
})

const counter = (metric: Metric.Metric.Counter<number>, tags: Record<string, string>) => {
  let tagged = metric
  for (const [k, v] of Object.entries(tags)) tagged = Metric.tagged(tagged, k, v)
  return Effect.map(Metric.value(tagged), (state) => state.count)
}

/** Publishes once (a publisher's scope closing publishes its last counts). */
const publishNow = (node: Node.NodeService) => Effect.scoped(Telemetry.publish(node, { interval: "1 hour" }))

describe("Telemetry.publish, peers", () => {
  it.scopedLive("per-peer bytes and frames, connects and reconnects, handshake failures by reason", () =>
    Effect.gen(function*() {
      const b = yield* Node.start("pb@127.0.0.1", { log: { level: "None" }, network: network("peers-cookie") })
      const routes = { "pb@127.0.0.1": `127.0.0.1:${b.port}` }
      const a = yield* Node.start("pa@127.0.0.1", { log: { level: "None" }, network: network("peers-cookie", routes) })
      const echo = yield* b.spawn(Echo, undefined)
      assert.strictEqual(yield* a.call(echo, new Ping(), "5 seconds"), "pong")
      yield* a.disconnect("pb@127.0.0.1")
      // The first call after the disconnect may race the close: retry until the new connection answers.
      yield* a.call(echo, new Ping(), "2 seconds").pipe(Effect.retry({ times: 20, schedule: Schedule.spaced("50 millis") }))

      const c = yield* Node.start("pc@127.0.0.1", { log: { level: "None" }, network: network("another-cookie", routes) })
      const refused = yield* Effect.flip(c.connect("pb@127.0.0.1"))
      assert.strictEqual(refused._tag, "NoConnection")

      yield* publishNow(a)
      const m = Telemetry.metrics
      const peerB = { node: "pa@127.0.0.1", peer: "pb@127.0.0.1" }
      assert.strictEqual(yield* counter(m.connects, peerB), 2)
      assert.strictEqual(yield* counter(m.reconnects, peerB), 1)
      assert.isAtLeast(yield* counter(m.framesOut, peerB), 2)
      assert.isAtLeast(yield* counter(m.framesIn, peerB), 2)
      assert.isAbove(yield* counter(m.bytesOut, peerB), 0)
      assert.isAbove(yield* counter(m.bytesIn, peerB), 0)

      // The dialler (c) checks the acceptor's proof first: it sees the wrong cookie, and b is
      // refused by its peer. The acceptor's handshake may end a moment after c's.
      yield* publishNow(c)
      assert.strictEqual(yield* counter(m.handshakeFailures, { node: "pc@127.0.0.1", reason: "cookie" }), 1)
      const refusedOnB = publishNow(b).pipe(
        Effect.zipRight(counter(m.handshakeFailures, { node: "pb@127.0.0.1", reason: "peer_rejected" })),
        Effect.filterOrFail((n) => n >= 1, () => "b has not counted the failed handshake yet"),
        Effect.retry({ times: 40, schedule: Schedule.spaced("50 millis") })
      )
      assert.strictEqual(yield* refusedOnB, 1)
    }), { timeout: 30_000 })
})
