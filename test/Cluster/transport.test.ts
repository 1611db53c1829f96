import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as Transport from "../../src/Transport/index.js"
import { MessageChannel } from "node:worker_threads"
import { Broker, fromMessagePort } from "../../src/Transport/internal/port.js"
import { collect, cookie, listen, send, take } from "../Transport/helpers.js"

/** A broker in this thread and a transport on one of its control ports (both ends in one thread work alike). */
const setup = (address: string, fallback?: Transport.Transport) =>
  Effect.acquireRelease(Effect.sync(() => new Broker()), (b) => Effect.sync(() => b.close())).pipe(
    Effect.map((broker) => ({
      broker,
      transport: (name: string) => Transport.worker({ broker: broker.endpoint().port, address: `thread:${name}`, fallback }),
      address
    }))
  )

describe("Transport.worker", () => {
  it.scopedLive("handshake and frames both ways; a batch of frames is one postMessage with its buffer transferred", () =>
    Effect.gen(function*() {
      const { transport } = yield* setup("thread:b@localhost")
      const { listener, sessions } = yield* listen(transport("b@localhost"), { creation: 9 })
      assert.strictEqual(listener.address, "thread:b@localhost")
      // count the writes of the client's connection and keep what each wrote
      const inner = transport("a@localhost")
      const written: Array<Uint8Array> = []
      const counting: Transport.Transport = {
        ...inner,
        connect: (address) =>
          Effect.map(inner.connect(address), (d) => ({
            ...d,
            write: (chunk: Uint8Array) => {
              written.push(chunk)
              d.write(chunk)
            }
          }))
      }
      const client = yield* Transport.connectScoped(counting, listener.address, { name: "a@localhost", cookie, creation: 4 })
      const server = yield* take(sessions, "the server session")
      assert.strictEqual(client.peer.name, "b@localhost")
      assert.strictEqual(client.peer.creation, 9)
      assert.strictEqual(server.peer.creation, 4)
      assert.strictEqual(server.remoteAddress, "thread:a@localhost")
      const atServer = yield* collect(server, 100)
      const atClient = yield* collect(client, 1)
      const before = written.length
      for (let i = 0; i < 100; i++) assert.isTrue(Either.isRight(send(client, { n: i })))
      assert.isTrue(Either.isRight(send(server, "back")))
      const frames = yield* atServer.await
      assert.deepStrictEqual(frames.map((f: any) => f.n), Array.from({ length: 100 }, (_, i) => i))
      assert.deepStrictEqual(yield* atClient.await, ["back"])
      assert.strictEqual(written.length - before, 1, "100 frames sent in one synchronous run leave in one write")
      assert.strictEqual(written[before]!.buffer.byteLength, 0, "the batch's ArrayBuffer was transferred (detached here)")
      yield* client.close
      const reason = yield* server.closed.pipe(Effect.timeout("5 seconds"))
      assert.strictEqual(reason.reason, "peer")
    }))

  it.scopedLive("a wrong cookie is refused in the handshake, as over TCP", () =>
    Effect.gen(function*() {
      const { transport } = yield* setup("thread:b@localhost")
      const { listener, rejected } = yield* listen(transport("b@localhost"))
      const error = yield* Effect.flip(
        Transport.connect(transport("a@localhost"), listener.address, { name: "a@localhost", cookie: "wrong" })
      )
      assert.strictEqual(error._tag === "HandshakeRejected" ? error.reason : error._tag, "cookie")
      const atAcceptor = yield* take(rejected, "the acceptor's rejection")
      assert.strictEqual(atAcceptor.peerReason, "cookie")
    }))

  it.scopedLive("bad addresses fail with TransportError saying why", () =>
    Effect.gen(function*() {
      const { transport } = yield* setup("thread:b@localhost")
      const nobody = yield* Effect.flip(transport("a@localhost").connect("thread:nobody@localhost"))
      assert.strictEqual(nobody._tag, "TransportError")
      assert.include(nobody.message, "no thread listens there")
      const tcp = yield* Effect.flip(transport("a@localhost").connect("127.0.0.1:1"))
      assert.include(tcp.message, "no fallback transport")
      const { broker } = yield* setup("")
      const bad = yield* Effect.flip(
        Transport.worker({ broker: broker.endpoint().port, address: "a@localhost" }).listen(() => {})
      )
      assert.strictEqual(bad.operation, "listen")
      assert.include(bad.message, "thread:<node name>")
      // one address, one thread
      yield* transport("b@localhost").listen(() => {})
      const taken = yield* Effect.flip(transport("b@localhost").listen(() => {}))
      assert.include(taken.message, "taken by another thread")
    }))

  it.scopedLive("with a TCP fallback: listens on both, connects to host:port over TCP", () =>
    Effect.gen(function*() {
      const { transport } = yield* setup("thread:b@localhost", Transport.tcp())
      const { listener, sessions } = yield* listen(transport("b@localhost"))
      assert.match(listener.address, /^127\.0\.0\.1:\d+$/)
      const overTcp = yield* Transport.connectScoped(Transport.tcp(), listener.address, { name: "c@localhost", cookie })
      yield* take(sessions, "the TCP session")
      assert.strictEqual(overTcp.peer.name, "b@localhost")
      const overThread = yield* Transport.connectScoped(transport("a@localhost"), "thread:b@localhost", {
        name: "a@localhost",
        cookie
      })
      yield* take(sessions, "the thread session")
      assert.strictEqual(overThread.peer.name, "b@localhost")
    }))

  it.scopedLive("backpressure: a sender far ahead of its reader is busy until the reader acknowledges", () =>
    Effect.gen(function*() {
      const { port1, port2 } = new MessageChannel()
      const sender = fromMessagePort(port1, "thread:reader")
      const reader = fromMessagePort(port2, "thread:sender")
      yield* Effect.addFinalizer(() => Effect.sync(() => (sender.close(), reader.close())))
      let read = 0
      reader.onData((chunk) => {
        read += chunk.byteLength
      })
      // 6 MiB written in one synchronous run: nothing has been read yet, so the sender is over its limit
      for (let i = 0; i < 6; i++) sender.write(new Uint8Array(1024 * 1024))
      assert.isTrue(sender.busy!(), "6 MiB unacknowledged makes the sender busy")
      yield* Effect.async<void>((resume) => sender.onDrain!(() => resume(Effect.void))).pipe(
        Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "the sender never drained" })
      )
      assert.isFalse(sender.busy!())
      assert.isAtLeast(read, 2 * 1024 * 1024, "it drained because the reader read and acknowledged")
    }))
})
