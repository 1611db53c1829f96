import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Option, Scope, TestClock } from "effect"
import * as crypto from "node:crypto"
import { Node, Process, Transport } from "../../src/index.js"
import * as Testing from "../testing.js"
import { instrumented, rawConnection, recording } from "../fixtures/transports.js"
import { Blob, cluster, cookie, Counter, GetCount, messages, Relay } from "../fixtures/dist.js"

/** Sends "over a busy connection" to the pid it gets, then tells `to` "sent". */
const Forwarder = Process.make({
  name: "Forwarder",
  init: (to: Process.Pid) => Effect.succeed(to),
  handleMessage: (target: Process.Pid, to, ctx) =>
    ctx.send(target, "over a busy connection").pipe(Effect.zipRight(ctx.send(to, "sent")), Effect.as(to))
})

const isDown = (u: unknown): u is Process.Down => u instanceof Process.Down

describe("node wire", () => {
  it.scopedLive("two nodes over the in-memory transport, with static routes", () =>
    Effect.gen(function*() {
      const transport = Transport.memory()
      const network = { cookie, messages, transport, allowSpawn: [Counter] }
      const scope = yield* Scope.make()
      const b = yield* Testing.make({ name: "b@mem", log: { level: "Warning" }, network }).pipe(Scope.extend(scope))
      assert.match(b.node.address, /^memory:\d+$/)
      const a = yield* Testing.make({
        name: "a@mem",
        log: { level: "Warning" },
        network: { ...network, routes: { "b@mem": b.node.address } }
      })
      const counter = yield* a.node.spawnRemote("b@mem", "Counter", 4)
      assert.strictEqual(yield* a.call(counter, new GetCount()), 4)
      const relay = yield* b.spawn(Relay, b.probe)
      yield* a.send(relay, { over: "memory" })
      assert.deepStrictEqual(yield* b.receive("2 seconds"), { over: "memory" })
      yield* a.monitor(counter)
      yield* Scope.close(scope, Exit.void)
      const down = yield* a.receiveMatching(isDown, "2 seconds")
      assert.strictEqual(down.reason._tag, "noconnection")
    }))

  it.scopedLive("compression is used when both nodes offer it, for messages above the threshold", () =>
    Effect.gen(function*() {
      const text = "the quick brown fox jumps over the lazy dog ".repeat(5000)
      const written: Record<string, number> = {}
      for (const [label, aOffers, bOffers] of [["both", true, true], ["a only", true, false]] as const) {
        const { stats, transport } = instrumented(Transport.memory())
        const b = yield* Testing.make({
          name: "b@mem",
          log: { level: "Warning" },
          network: { cookie, transport, compression: bOffers }
        })
        const a = yield* Testing.make({
          name: "a@mem",
          log: { level: "Warning" },
          network: { cookie, transport, compression: aOffers && { threshold: 4096 }, routes: { "b@mem": b.node.address } }
        })
        const relay = yield* b.spawn(Relay, b.probe)
        yield* a.node.connect("b@mem")
        const before = stats.written
        yield* a.send(relay, text)
        assert.strictEqual(yield* b.receive("2 seconds"), text)
        written[label] = stats.written - before
        yield* b.node.stop
        yield* a.node.stop
      }
      assert.isBelow(written["both"], text.length / 10)
      assert.isAbove(written["a only"], text.length)
    }))

  it.scoped("connectTimeout and tickTime that are not finite positive durations fail the start with NetworkError", () =>
    Effect.gen(function*() {
      const start = (network: Partial<Node.NetworkOptions>) =>
        Effect.flip(Node.start("bad@127.0.0.1", { network: { cookie, ...network } }))
      const notDuration = yield* start({ tickTime: "soon" as Duration.DurationInput })
      assert.strictEqual(notDuration._tag, "NetworkError")
      assert.include(notDuration.message, "network.tickTime is not a duration")
      const zero = yield* start({ connectTimeout: 0 })
      assert.include(zero.message, "network.connectTimeout must be finite and positive")
      const infinite = yield* start({ connectTimeout: Duration.infinity })
      assert.include(infinite.message, "network.connectTimeout must be finite and positive")
    }))

  it.scoped("the connect timeout runs on the node's Clock: TestClock ends a connection attempt that never connects", () =>
    Effect.gen(function*() {
      // A transport whose connect never completes (before any handshake, so no handshake timeout applies).
      const mute: Transport.Transport = { ...Transport.memory(), _tag: "mute", connect: () => Effect.never }
      const node = yield* Node.start("a@127.0.0.1", {
        network: { cookie, transport: mute, routes: { "mute@127.0.0.1": "memory:0" }, connectTimeout: "3 seconds" }
      })
      const attempt = yield* Effect.fork(node.connect("mute@127.0.0.1"))
      yield* TestClock.adjust("2900 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(attempt)), "the attempt ended before its connectTimeout")
      yield* TestClock.adjust("100 millis")
      // Real time bounds the wait: under TestClock nothing else would end it.
      const guard = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 2000)))
      const error = yield* Fiber.join(attempt).pipe(
        Effect.flip,
        Effect.raceFirst(Effect.zipRight(guard, Effect.die("the attempt outlived its connectTimeout on the TestClock")))
      )
      assert.strictEqual(error._tag, "NoConnection")
    }))

  it.scopedLive("garbage on the node's port (random bytes, truncated handshake, oversize length) closes only that connection", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1", { connectTimeout: "500 millis" })
      const counter = yield* b.spawn(Counter, 1)
      assert.strictEqual(yield* a.call(counter, new GetCount()), 1)
      const port = b.node.port
      yield* rawConnection(port, crypto.randomBytes(64))
      // a valid frame header with a handshake cut short, then silence until the handshake
      // times out (connectTimeout)
      const truncated = Buffer.from([0, 0, 0, 40, 0, 0x85, 0xa1, 0x74])
      yield* rawConnection(port, truncated)
      const oversize = Buffer.from([0xff, 0xff, 0xff, 0xf0, 0])
      yield* rawConnection(port, oversize)
      assert.strictEqual(yield* a.call(counter, new GetCount()), 1)
      assert.deepStrictEqual(yield* b.node.nodes, ["a@127.0.0.1"])
      const logs = (yield* b.logs).map((entry) => entry.message).join("\n")
      assert.include(logs, "exceeds the maximum")
      assert.include(logs, "handshake")
    }), { timeout: 20_000 })

  it.scopedLive("a message above maxMessageSize (this node's or the peer's) fails at the sender; the connection lives", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1", { maxMessageSize: 4 * 1024 * 1024 })
      const b = yield* make("b@127.0.0.1", { maxMessageSize: 1024 * 1024 })
      const relay = yield* b.spawn(Relay, b.probe)
      yield* a.node.connect("b@127.0.0.1")
      const send = (bytes: number) => a.node.trySend(relay, new Blob({ seq: bytes, data: new Uint8Array(bytes) }))
      // b accepts at most 1 MiB
      const overPeer = yield* Effect.flip(send(2 * 1024 * 1024))
      assert.strictEqual(overPeer._tag, "MessageTooLarge")
      assert.include(overPeer.message, "1048576")
      // a's own limit, to a node it is not connected to
      const big = new Blob({ seq: 0, data: new Uint8Array(5 * 1024 * 1024) })
      const overOwn = yield* Effect.flip(a.node.trySend(Process.name("x", "c@127.0.0.1"), big))
      assert.strictEqual(overOwn._tag, "MessageTooLarge")
      assert.include(overOwn.message, "4194304")
      yield* send(512 * 1024)
      assert.strictEqual(((yield* b.receive("5 seconds")) as Blob).data.length, 512 * 1024)
      assert.deepStrictEqual(yield* a.node.nodes, ["b@127.0.0.1"])
    }))

  it.scopedLive("a peer claiming a connected node's name without the cookie cannot replace its connection", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const counter = yield* b.spawn(Counter, 2)
      assert.strictEqual(yield* a.call(counter, new GetCount()), 2)
      const impostor = yield* Effect.flip(
        Transport.connect(Transport.tcp(), b.node.address, { name: "a@127.0.0.1", cookie: "guess", creation: 999 })
      )
      assert.strictEqual(impostor._tag, "HandshakeRejected")
      assert.strictEqual(yield* a.call(counter, new GetCount()), 2)
      assert.deepStrictEqual(yield* b.node.nodes, ["a@127.0.0.1"])
    }))

  it.scopedLive("a process sending to a node whose connection is backed up waits until it drains (busy dist port)", () =>
    Effect.gen(function*() {
      const { release, stats: gate, transport } = instrumented(Transport.memory())
      const b = yield* Testing.make({ name: "b@mem", log: { level: "Warning" }, network: { cookie, transport } })
      const a = yield* Testing.make({
        name: "a@mem",
        log: { level: "Warning" },
        network: { cookie, transport, routes: { "b@mem": b.node.address } }
      })
      const relay = yield* b.spawn(Relay, b.probe)
      yield* a.node.connect("b@mem")
      const sender = yield* a.spawn(Forwarder, a.probe)
      gate.busy = true
      yield* a.send(sender, relay)
      yield* a.expectNoMessage("100 millis")
      yield* b.expectNoMessage("50 millis")
      release()
      assert.strictEqual(yield* b.receive("2 seconds"), "over a busy connection")
      assert.strictEqual(yield* a.receive("2 seconds"), "sent")
    }))

  it.scopedLive("the cookie never crosses the wire: not in a handshake, a message, a call, nor a refused attempt", () =>
    Effect.gen(function*() {
      const secret = "cookie-that-must-stay-home-7f3a"
      const wrong = "another-cookie-never-sent-91c2"
      const { bytes, transport } = recording(Transport.memory())
      const b = yield* Testing.make({ name: "b@mem", log: { level: "Error" }, network: { cookie: secret, transport, messages } })
      const a = yield* Testing.make({
        name: "a@mem",
        log: { level: "Error" },
        network: { cookie: secret, transport, messages, routes: { "b@mem": b.node.address } }
      })
      const counter = yield* b.spawn(Counter, 5)
      assert.strictEqual(yield* a.call(counter, new GetCount(), "5 seconds"), 5)
      const relay = yield* b.spawn(Relay, b.probe)
      yield* a.send(relay, "hello over memory")
      assert.strictEqual(yield* b.receive("5 seconds"), "hello over memory")
      const x = yield* Testing.make({
        name: "x@mem",
        log: { level: "Error" },
        network: { cookie: wrong, transport, messages, routes: { "b@mem": b.node.address } }
      })
      assert.strictEqual((yield* Effect.flip(x.node.connect("b@mem")))._tag, "NoConnection")
      const wire = bytes()
      // the recorder saw the conversation (names, the message) ...
      assert.isAbove(wire.indexOf("a@mem"), -1)
      assert.isAbove(wire.indexOf("x@mem"), -1)
      assert.isAbove(wire.indexOf("hello over memory"), -1)
      // ... and neither cookie
      assert.strictEqual(wire.indexOf(secret), -1, "the shared cookie was on the wire")
      assert.strictEqual(wire.indexOf(wrong), -1, "the intruder's cookie was on the wire")
    }))
})
