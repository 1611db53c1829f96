import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Exit, Fiber, Schema, TestClock } from "effect"
import * as crypto from "node:crypto"
import * as Message from "../../src/Message/index.js"
import { Pid } from "../../src/Process/Pid.js"
import * as Transport from "../../src/Transport/index.js"
import { instrumented, rechunking } from "../fixtures/transports.js"
import { closedAddress, closedOf, collect, cookie, listen, packed, rawFrame, send, take } from "./helpers.js"

class Put extends Schema.TaggedClass<Put>()("test/Put", { key: Schema.String, value: Schema.Number, from: Pid }) {}
Message.unsafeRegister(Put)

const pid = new Pid({ node: "a@localhost", id: 1, creation: 1 })
const transports = [["tcp", Transport.tcp()], ["memory", Transport.memory()]] as const

describe("Transport session", () => {
  for (const [label, transport] of transports) {
    it.scopedLive(`handshake and frames both ways over ${label}`, () =>
      Effect.gen(function*() {
        const { listener, sessions } = yield* listen(transport, { creation: 9 })
        const client = yield* Transport.connectScoped(transport, listener.address, {
          name: "a@localhost",
          cookie,
          creation: 4
        })
        const server = yield* take(sessions, "the server session")
        assert.strictEqual(client.peer.name, "b@localhost")
        assert.strictEqual(client.peer.creation, 9)
        assert.strictEqual(server.peer.name, "a@localhost")
        assert.strictEqual(server.peer.creation, 4)
        assert.strictEqual(client.compression, true, "the client negotiated compression")
        assert.strictEqual(server.compression, true, "the server negotiated compression")
        const atServer = yield* collect(server, 2)
        const atClient = yield* collect(client, 1)
        const put = new Put({ key: "k", value: 1, from: pid })
        assert.isTrue(Either.isRight(send(client, { t: "send", to: pid, msg: put })))
        assert.isTrue(Either.isRight(send(client, "second")))
        assert.isTrue(Either.isRight(send(server, { t: "reply", n: 42 })))
        const [first, second] = yield* atServer.await
        assert.deepStrictEqual(first, { t: "send", to: pid, msg: put })
        assert.instanceOf((first as any).msg, Put)
        assert.strictEqual(second, "second")
        assert.deepStrictEqual(yield* atClient.await, [{ t: "reply", n: 42 }])
        yield* client.close
        const reason = yield* server.closed
        assert.strictEqual(reason.reason, "peer")
        assert.isTrue(Either.isLeft(send(client, "late")))
      }))
  }

  it.scopedLive("a wrong cookie is rejected on both sides", () =>
    Effect.gen(function*() {
      const transport = Transport.tcp()
      const { listener, rejected, sessions } = yield* listen(transport)
      const r = yield* Effect.flip(Transport.connect(transport, listener.address, { name: "a@localhost", cookie: "wrong" }))
      assert.strictEqual(r._tag, "HandshakeRejected")
      assert.strictEqual((r as Transport.HandshakeRejected).reason, "cookie")
      const s = yield* take(rejected, "the server's rejection")
      assert.strictEqual(s.reason, "peer_rejected")

      // The acceptor checks the initiator's proof: a raw initiator that cannot prove the cookie.
      const duplex = yield* transport.connect(listener.address)
      const frames: Array<Buffer> = []
      duplex.onData((c) => void frames.push(Buffer.from(c)))
      duplex.write(rawFrame(packed({
        t: "hello",
        v: Transport.protocolVersion,
        name: "x@localhost",
        creation: 0,
        compression: false,
        maxMessageSize: 1000,
        nonce: crypto.randomBytes(32)
      })))
      yield* Effect.sleep("50 millis")
      duplex.write(rawFrame(packed({ t: "proof", proof: crypto.randomBytes(32) })))
      yield* closedOf(duplex)
      const s2 = yield* take(rejected, "the server's rejection")
      assert.strictEqual(s2.reason, "cookie")
      assert.strictEqual(s2.peer, "x@localhost")
      assert.include(s2.message, "same cookie")

      // The server keeps accepting good peers.
      yield* Transport.connectScoped(transport, listener.address, { name: "a@localhost", cookie })
      yield* take(sessions, "a good session")
    }))

  it.scopedLive("an unknown protocol version or a bad name is rejected", () =>
    Effect.gen(function*() {
      const transport = Transport.tcp()
      const { listener, rejected } = yield* listen(transport)
      const r = yield* Effect.flip(
        Transport.connect(transport, listener.address, { name: "a@localhost", cookie, protocolVersion: 99 })
      )
      assert.strictEqual((r as Transport.HandshakeRejected).reason, "peer_rejected")
      assert.strictEqual((yield* take(rejected)).reason, "version")
      const n = yield* Effect.flip(Transport.connect(transport, listener.address, { name: "no host", cookie }))
      assert.strictEqual((n as Transport.HandshakeRejected).reason, "peer_rejected")
      assert.strictEqual((yield* take(rejected)).reason, "name")
    }))

  it.scopedLive("a peer of protocol version 1 (un-namespaced wire identifiers) is refused cleanly", () =>
    Effect.gen(function*() {
      assert.strictEqual(Transport.protocolVersion, 2)
      const transport = Transport.tcp()
      const { listener, rejected } = yield* listen(transport)
      const r = yield* Effect.flip(
        Transport.connect(transport, listener.address, { name: "old@localhost", cookie, protocolVersion: 1 })
      )
      assert.strictEqual((r as Transport.HandshakeRejected).reason, "peer_rejected")
      const refused = yield* take(rejected)
      assert.strictEqual(refused.reason, "version")
      assert.include(refused.message, "version 1")
    }))

  it.scopedLive("garbage, truncated handshakes and oversize length prefixes close only that connection", () =>
    Effect.gen(function*() {
      const transport = Transport.tcp()
      const { listener, rejected, sessions } = yield* listen(transport, { handshakeTimeout: "500 millis" })

      const random = yield* transport.connect(listener.address)
      random.onData(() => {})
      random.write(crypto.randomBytes(4096))
      yield* closedOf(random)
      assert.strictEqual((yield* take(rejected)).reason, "malformed")

      const oversize = yield* transport.connect(listener.address)
      oversize.onData(() => {})
      const prefix = Buffer.alloc(4)
      prefix.writeUInt32BE(0xfffffff0, 0)
      oversize.write(prefix)
      yield* closedOf(oversize)
      assert.strictEqual((yield* take(rejected)).reason, "malformed")

      const truncated = yield* transport.connect(listener.address)
      truncated.onData(() => {})
      const hello = rawFrame(packed({ t: "hello", v: 1, name: "x@h", creation: 0 }))
      truncated.write(hello.subarray(0, hello.length - 3))
      yield* closedOf(truncated)
      assert.strictEqual((yield* take(rejected)).reason, "timeout")

      const hangup = yield* transport.connect(listener.address)
      hangup.onData(() => {})
      hangup.write(hello.subarray(0, 7))
      hangup.close()
      assert.strictEqual((yield* take(rejected)).reason, "closed")

      yield* Transport.connectScoped(transport, listener.address, { name: "a@localhost", cookie })
      yield* take(sessions, "a good session after the garbage")
    }))

  it.scopedLive("frames split across chunks at every offset arrive whole and in order", () =>
    Effect.gen(function*() {
      // Chunks of 1, 2, 3... bytes split length prefixes; 700 and 70,000 end chunks inside frames
      // and hold several small frames at once.
      const transport = rechunking(Transport.memory(), [1, 2, 3, 4, 5, 7, 11, 700, 70_000])
      const { listener, sessions } = yield* listen(transport)
      const client = yield* Transport.connectScoped(transport, listener.address, { name: "a@localhost", cookie })
      const server = yield* take(sessions)
      const sizes = [0, 1, 3, 4, 5, 100, 1_000, 4_096, 65_536, 200_000]
      const values = Array.from({ length: 200 }, (_, i) => {
        const bytes = new Uint8Array(sizes[i % sizes.length]!)
        for (let j = 0; j < bytes.length; j += 97) bytes[j] = (i + j) & 0xff
        return { i, bytes }
      })
      const atServer = yield* collect(server, values.length)
      for (const value of values) assert.isTrue(Either.isRight(send(client, value)))
      const received = (yield* atServer.await) as Array<{ i: number; bytes: Uint8Array }>
      assert.deepStrictEqual(received.map((v) => v.i), values.map((v) => v.i))
      for (const [k, v] of received.entries()) {
        assert.isTrue(Buffer.from(v.bytes).equals(Buffer.from(values[k]!.bytes)), `frame ${k} (${values[k]!.bytes.length} bytes)`)
      }
    }))

  it.scopedLive("garbage after the handshake closes that session with a protocol reason", () =>
    Effect.gen(function*() {
      const { transport } = instrumented(Transport.memory())
      const { listener, sessions } = yield* listen(transport)
      const duplexes: Array<Transport.Duplex> = []
      const spy: Transport.Transport = {
        ...transport,
        connect: (a) => Effect.tap(transport.connect(a), (d) => void duplexes.push(d))
      }
      yield* Transport.connectScoped(spy, listener.address, { name: "a@localhost", cookie })
      const server = yield* take(sessions)
      const lengthOnly = Buffer.alloc(4)
      lengthOnly.writeUInt32BE(0x7fffffff, 0)
      duplexes[0].write(lengthOnly)
      const reason = yield* server.closed
      assert.strictEqual(reason.reason, "protocol")
      assert.include(reason.detail, "exceeds the maximum")
    }))

  it.effect("the handshake times out on Effect's Clock", () =>
    Effect.gen(function*() {
      const transport = Transport.memory()
      const accepted: Array<Transport.Duplex> = []
      const listener = yield* Effect.scoped(Effect.gen(function*() {
        const l = yield* transport.listen((d) => void accepted.push(d))
        const silent = yield* transport.connect(l.address)
        silent.onData(() => {})
        yield* Effect.yieldNow()
        const fiber = yield* Effect.fork(
          Transport.handshake(accepted[0], "acceptor", { name: "b@localhost", cookie, handshakeTimeout: "3 seconds" })
        )
        yield* TestClock.adjust("4 seconds")
        const exit = yield* Fiber.await(fiber)
        assert.isTrue(Exit.isFailure(exit))
        const e = yield* Effect.flip(exit)
        assert.strictEqual(e.reason, "timeout")
        return l
      }))
      assert.match(listener.address, /^memory:/)
    }))

  it.scopedLive("the accept hook can refuse a peer (duplicate connections)", () =>
    Effect.gen(function*() {
      const transport = Transport.memory()
      const { listener, rejected } = yield* listen(transport, {
        accept: (peer) => Effect.succeed(peer.name !== "dup@localhost")
      })
      const e = yield* Effect.flip(Transport.connect(transport, listener.address, { name: "dup@localhost", cookie }))
      assert.strictEqual((e as Transport.HandshakeRejected).reason, "peer_rejected")
      assert.strictEqual((yield* take(rejected)).reason, "duplicate")
    }))

  it.scopedLive("an 8 MB message arrives whole; a message above the peer's maximum is refused to the sender", () =>
    Effect.gen(function*() {
      const transport = Transport.tcp()
      const { listener, sessions } = yield* listen(transport, { maxMessageSize: 9 * 1024 * 1024 })
      const client = yield* Transport.connectScoped(transport, listener.address, { name: "a@localhost", cookie })
      const server = yield* take(sessions)
      assert.strictEqual(client.maxMessageSize, 9 * 1024 * 1024)
      const big = crypto.randomBytes(8 * 1024 * 1024)
      const got = yield* collect(server, 1)
      assert.isTrue(Either.isRight(send(client, { big })))
      const [frame] = yield* got.await
      assert.isTrue(Buffer.from((frame as any).big).equals(big))

      const tooBig = client.send(crypto.randomBytes(10 * 1024 * 1024))
      assert.isTrue(Either.isLeft(tooBig))
      if (Either.isLeft(tooBig)) {
        assert.strictEqual(tooBig.left._tag, "MessageTooLarge")
        assert.include(tooBig.left.message, "maxMessageSize")
      }
      assert.isTrue(client.isOpen)
    }))

  it.scopedLive("100k messages arrive in order", () =>
    Effect.gen(function*() {
      const transport = Transport.tcp()
      const { listener, sessions } = yield* listen(transport)
      const client = yield* Transport.connectScoped(transport, listener.address, { name: "a@localhost", cookie })
      const server = yield* take(sessions)
      const n = 100_000
      const got = yield* collect(server, n)
      for (let i = 0; i < n; i++) {
        send(client, { i })
        if (i % 10_000 === 0) yield* Effect.yieldNow()
      }
      const frames = yield* got.await
      for (let i = 0; i < n; i++) {
        if ((frames[i] as any).i !== i) assert.fail(`frame ${i} is ${JSON.stringify(frames[i])}`)
      }
    }))

  it.scopedLive("compression: large payloads are compressed on the wire and arrive intact", () =>
    Effect.gen(function*() {
      const text = "the quick brown fox jumps over the lazy dog ".repeat(2000)
      const sizes: Record<string, number> = {}
      for (const compression of [true, false]) {
        const { stats, transport } = instrumented(Transport.tcp())
        const { listener, sessions } = yield* listen(transport, { compression })
        const client = yield* Transport.connectScoped(transport, listener.address, { name: "a@localhost", cookie })
        const server = yield* take(sessions)
        assert.strictEqual(client.compression, compression)
        const before = stats.written
        const got = yield* collect(server, 2)
        send(client, { text })
        send(client, "small")
        assert.deepStrictEqual(yield* got.await, [{ text }, "small"])
        sizes[String(compression)] = stats.written - before
      }
      assert.isBelow(sizes["true"], text.length / 10)
      assert.isAbove(sizes["false"], text.length)
    }))

  it.scopedLive("backpressure: while the duplex is busy frames wait, then leave together", () =>
    Effect.gen(function*() {
      const { release, stats: gate, transport } = instrumented(Transport.memory(), true)
      const { listener, sessions } = yield* listen(transport)
      const client = yield* Transport.connectScoped(transport, listener.address, { name: "a@localhost", cookie })
      const server = yield* take(sessions)
      const got = yield* collect(server, 3)
      const handshakeWrites = gate.writes
      for (const n of [1, 2, 3]) assert.isTrue(Either.isRight(send(client, { n })))
      yield* Effect.sleep("20 millis")
      assert.strictEqual(gate.writes, handshakeWrites)
      assert.strictEqual(got.frames.length, 0)
      assert.isTrue(client.busy)
      let ready = false
      client.whenReady(() => {
        ready = true
      })
      assert.isFalse(ready)
      release()
      assert.isTrue(ready)
      assert.isFalse(client.busy)
      assert.deepStrictEqual(yield* got.await, [{ n: 1 }, { n: 2 }, { n: 3 }])
      assert.strictEqual(gate.writes, handshakeWrites + 1)
    }))

  it.scopedLive("frames are available as a queue", () =>
    Effect.gen(function*() {
      const transport = Transport.memory()
      const { listener, sessions } = yield* listen(transport)
      const client = yield* Transport.connectScoped(transport, listener.address, { name: "a@localhost", cookie })
      const server = yield* take(sessions)
      const queue = yield* Transport.frames(server)
      client.send(new Uint8Array([1]))
      client.send(new Uint8Array([2, 3]))
      assert.deepStrictEqual(Array.from(yield* take(queue)), [1])
      assert.deepStrictEqual(Array.from(yield* take(queue)), [2, 3])
    }))

  it.scopedLive("closing the listener's scope closes its sessions", () =>
    Effect.gen(function*() {
      const transport = Transport.tcp()
      const client = yield* Effect.scoped(Effect.gen(function*() {
        const { listener, sessions } = yield* listen(transport)
        const c = yield* Transport.connect(transport, listener.address, { name: "a@localhost", cookie })
        yield* take(sessions)
        return c
      }))
      const reason = yield* client.closed
      assert.oneOf(reason.reason, ["peer", "transport"])
      const refused = yield* Effect.flip(Transport.connect(transport, yield* closedAddress, { name: "a@localhost", cookie }))
      assert.strictEqual(refused._tag, "TransportError")
    }))
})
