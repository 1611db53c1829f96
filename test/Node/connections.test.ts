import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Schedule } from "effect"
import * as crypto from "node:crypto"
import { Process, Testing, Transport } from "../../src/index.js"
import type { Distribution } from "../../src/Node/internal/dist/connection.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"
import { cluster, Counter, GetCount } from "../fixtures/dist.js"
import { rawConnection } from "../fixtures/transports.js"

/** The messages a test node logged at `level` or above that mention the handshake. */
const handshakeLines = (t: Testing.TestEnv, levels: ReadonlyArray<string>) =>
  Effect.map(t.logs, (logs) =>
    logs.filter((entry) => levels.includes(entry.level) && /handshake|connection/i.test(entry.message)).map((e) => e.message))

/** Waits (bounded) until `count` lines are logged, then a little longer to catch a second one. */
const settle = (t: Testing.TestEnv, levels: ReadonlyArray<string>, count: number) =>
  handshakeLines(t, levels).pipe(
    Effect.filterOrFail((lines) => lines.length >= count),
    Effect.retry({ times: 100, schedule: Schedule.spaced("50 millis") }),
    Effect.zipRight(Effect.sleep("200 millis")),
    Effect.zipRight(handshakeLines(t, levels))
  )

describe("connections", () => {
  it.scopedLive("each refused connection logs exactly one line, with its reason", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const b = yield* make("b@127.0.0.1", { connectTimeout: "500 millis" })
      const port = b.node.port
      const cases: ReadonlyArray<readonly [string, Uint8Array, RegExp]> = [
        ["random bytes", crypto.randomBytes(64), /handshake failed/],
        ["oversize length", Buffer.from([0xff, 0xff, 0xff, 0xf0, 0]), /exceeds the maximum/],
        ["truncated hello", Buffer.from([0, 0, 0, 40, 0, 0x85, 0xa1, 0x74]), /timed out/]
      ]
      let expected = 0
      for (const [label, bytes, pattern] of cases) {
        yield* rawConnection(port, bytes)
        expected++
        const lines = yield* settle(b, ["WARN", "ERROR"], expected)
        assert.strictEqual(lines.length, expected, `${label}: ${JSON.stringify(lines)}`)
        assert.match(lines[expected - 1]!, pattern, label)
      }
    }), { timeout: 30_000 })

  it.scopedLive("a wrong cookie logs one line on each side, and the hint names the cookie", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1", { cookie: "another" })
      const error = yield* Effect.flip(a.node.connect("b@127.0.0.1"))
      assert.strictEqual(error._tag, "NoConnection")
      assert.include(error.message, "same cookie")
      const onB = yield* settle(b, ["WARN", "ERROR"], 1)
      const onA = yield* settle(a, ["WARN", "ERROR"], 1)
      assert.strictEqual(onB.length, 1, JSON.stringify(onB))
      assert.strictEqual(onA.length, 1, JSON.stringify(onA))
      assert.include(onB[0]!, "cookie")
      assert.include(onA[0]!, "cookie")
      // each names the other side
      assert.include(onB[0]!, "a@127.0.0.1")
      assert.include(onA[0]!, "b@127.0.0.1")
    }), { timeout: 20_000 })

  it.scopedLive("simultaneous connects are settled without a warning", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      for (let i = 0; i < 10; i++) {
        const a = yield* make(`a${i}@127.0.0.1`)
        const b = yield* make(`b${i}@127.0.0.1`)
        yield* Effect.all([a.node.connect(b.node.name), b.node.connect(a.node.name)], { concurrency: 2 })
        assert.deepStrictEqual(yield* a.node.nodes, [b.node.name])
        assert.deepStrictEqual(yield* b.node.nodes, [a.node.name])
        assert.deepStrictEqual(yield* handshakeLines(a, ["WARN", "ERROR"]), [])
        assert.deepStrictEqual(yield* handshakeLines(b, ["WARN", "ERROR"]), [])
      }
    }), { timeout: 30_000 })

  it.scopedLive("a hello that fails the cookie leaves no peer behind and fires no node-down", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const b = yield* make("b@127.0.0.1")
      const downs: Array<string> = []
      // a process of b watching the bogus node would be told of a node-down if one fired
      const probe = yield* b.spawn(
        Process.make({
          name: "Watcher",
          init: (_: void, ctx) => Effect.as(ctx.monitorNode("evil@127.0.0.1"), 0),
          handleInfo: (info, n) => Effect.sync(() => (downs.push(info._tag), n))
        }),
        undefined
      )
      void probe
      const transport = Transport.tcp({ host: "127.0.0.1", port: 0 })
      for (let i = 0; i < 20; i++) {
        const result = yield* Effect.either(
          Transport.connect(transport, `127.0.0.1:${b.node.port}`, { name: "evil@127.0.0.1", cookie: "guess", creation: i })
        )
        assert.isTrue(Either.isLeft(result))
      }
      const connections = yield* b.node.connections
      assert.deepStrictEqual(connections.peers, [])
      // the acceptor hears of the failure a moment after the dialler: wait (bounded) for it
      const known = Effect.sync(() => (kernelOf(b.node).remote as unknown as Distribution).peers.known()).pipe(
        Effect.filterOrFail((names) => names.length === 0),
        Effect.retry({ times: 50, schedule: Schedule.spaced("20 millis") }),
        Effect.orElse(() => Effect.sync(() => (kernelOf(b.node).remote as unknown as Distribution).peers.known()))
      )
      assert.deepStrictEqual(yield* known, [])
      yield* Effect.sleep("100 millis")
      assert.deepStrictEqual(downs.filter((tag) => tag === "NodeDown").length, 1) // the at-once one of monitorNode
    }), { timeout: 20_000 })

  it.scopedLive("node.connections reports each peer: creation, address, who dialled, since, frames and bytes", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const counter = yield* b.spawn(Counter, 5)
      const before = Date.now()
      assert.strictEqual(yield* a.call(counter, new GetCount()), 5)
      const fromA = yield* a.node.connections
      const fromB = yield* b.node.connections
      assert.strictEqual(fromA.count, 1)
      assert.strictEqual(fromA.maxNodes, Infinity)
      const ab = fromA.peers[0]!
      const ba = fromB.peers[0]!
      assert.strictEqual(ab.node, "b@127.0.0.1")
      assert.strictEqual(ab.creation, b.node.creation)
      assert.strictEqual(ab.address, `127.0.0.1:${b.node.port}`)
      assert.strictEqual(ab.dialled, "this node")
      assert.strictEqual(ba.node, "a@127.0.0.1")
      assert.strictEqual(ba.dialled, "the peer")
      assert.isAtMost(ab.since, Date.now())
      assert.isAtLeast(ab.since, before - 5000)
      assert.isAtLeast(ab.framesOut, 1)
      assert.isAtLeast(ba.framesIn, 1)
      assert.isAbove(ab.bytesOut, 0)
      assert.isAbove(ab.bytesIn, 0)
      assert.strictEqual(ab.compression, false)
    }))

  it.scopedLive("network.maxNodes refuses one node too many on both sides, with its own reason; live ones stay", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const hub = yield* make("hub@127.0.0.1", { maxNodes: 2 })
      const counter = yield* hub.spawn(Counter, 7)
      const first = yield* make("first@127.0.0.1")
      const second = yield* make("second@127.0.0.1")
      const third = yield* make("third@127.0.0.1")
      assert.strictEqual(yield* first.call(counter, new GetCount()), 7)
      assert.strictEqual(yield* second.call(counter, new GetCount()), 7)
      const refused = yield* Effect.flip(third.call(counter, new GetCount(), "5 seconds"))
      assert.strictEqual(refused._tag, "NoConnection")
      assert.include(refused.message, "too_many_nodes")
      assert.include(refused.message, "maxNodes")
      const onHub = yield* settle(hub, ["WARN", "ERROR"], 1)
      const onThird = yield* settle(third, ["WARN", "ERROR"], 1)
      assert.strictEqual(onHub.length, 1, JSON.stringify(onHub))
      assert.strictEqual(onThird.length, 1, JSON.stringify(onThird))
      // outgoing too: the hub itself cannot dial a third node
      const out = yield* Effect.flip(hub.node.connect("third@127.0.0.1"))
      assert.include(out.message, "too_many_nodes")
      const connections = yield* hub.node.connections
      assert.strictEqual(connections.count, 2)
      assert.strictEqual(connections.maxNodes, 2)
      assert.strictEqual(yield* first.call(counter, new GetCount()), 7)
      // room again once a node leaves
      yield* first.node.disconnect("hub@127.0.0.1")
      const retry = third.call(counter, new GetCount(), "5 seconds").pipe(
        Effect.retry({ times: 40, schedule: Schedule.spaced("50 millis") })
      )
      assert.strictEqual(yield* retry, 7)
    }), { timeout: 30_000 })
})
