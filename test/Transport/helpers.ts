import { Deferred, Duration, Effect, Either, Queue } from "effect"
import * as net from "node:net"
import * as Message from "../../src/Message/index.js"
import * as Transport from "../../src/Transport/index.js"

export const cookie = "monster"

/** A listening node `b@localhost` whose sessions land in a queue, and its rejected handshakes in another. */
export const listen = (
  transport: Transport.Transport,
  options: Partial<Transport.ServeOptions> = {}
) =>
  Effect.gen(function*() {
    const sessions = yield* Queue.unbounded<Transport.Session>()
    const rejected = yield* Queue.unbounded<Transport.HandshakeRejected>()
    const listener = yield* Transport.serve(
      transport,
      {
        name: "b@localhost",
        cookie,
        handshakeTimeout: "2 seconds",
        onRejected: (e) => Queue.offer(rejected, e),
        ...options
      },
      (s) => Queue.offer(sessions, s)
    )
    return { listener, sessions, rejected }
  })

/** Collects `n` frames of a session (bounded wait). */
export const collect = (session: Transport.Session, n: number, timeout: Duration.DurationInput = "20 seconds") =>
  Effect.gen(function*() {
    const done = yield* Deferred.make<Array<unknown>>()
    const frames: Array<unknown> = []
    session.setHandler({
      onFrame: (bytes) => {
        frames.push(Either.getOrThrow(Message.decode(bytes)))
        if (frames.length === n) Deferred.unsafeDone(done, Effect.succeed(frames))
      }
    })
    return {
      frames,
      await: Deferred.await(done).pipe(Effect.timeoutFail({ duration: timeout, onTimeout: () => `only ${frames.length}/${n} frames` }))
    }
  })

export const take = <A>(q: Queue.Dequeue<A>, what = "value") =>
  Queue.take(q).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => `timed out waiting for ${what}` }))

/** Writes one raw frame (length, flags, payload) on a duplex. */
export const rawFrame = (payload: Uint8Array, flags = 0): Uint8Array => {
  const b = Buffer.allocUnsafe(5 + payload.length)
  b.writeUInt32BE(payload.length + 1, 0)
  b[4] = flags
  b.set(payload, 5)
  return b
}

export const packed = (value: unknown): Uint8Array => Either.getOrThrow(Message.encode(value))

/** Encodes a value with the node codec and sends it on a session. */
export const send = (session: Transport.Session, value: unknown) => session.send(packed(value))

/** Waits until a duplex is closed (bounded). */
export const closedOf = (duplex: Transport.Duplex) =>
  Effect.async<void>((resume) => duplex.onClose(() => resume(Effect.void))).pipe(
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "the connection was not closed" })
  )

/**
 * An address where nothing listens: a port the system gave a listener that is closed again (no
 * fixed "closed" port, which some machine may well be using).
 */
export const closedAddress = Effect.async<string>((resume) => {
  const server = net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as net.AddressInfo).port
    server.close(() => resume(Effect.succeed(`127.0.0.1:${port}`)))
  })
})
