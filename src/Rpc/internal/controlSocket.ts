/**
 * The control plane's byte plumbing: telling a control client from a peer node on the
 * node's own listener (`sniff`), and an `@effect/platform` `Socket` over an authenticated
 * `Transport.Session` (`sessionSocket`), which is what `@effect/rpc`'s socket protocols run on.
 *
 * Why the node's own listener and not a second port: one address to know, to open in a
 * firewall and to pass to `rain --node`; the control plane gets whatever the transport gives
 * (TLS, a custom duplex) for free; and nothing has to be advertised to peers or registrars.
 * The cost is one check of the first byte of every accepted connection: a node's handshake
 * starts with a frame length (`u32 BE`, under 64 KiB, so a zero byte), a control client
 * with the 8 bytes `RAINCTL1`.
 *
 * Why a `Session`: after the preamble both sides run the node handshake itself
 * (`Transport.handshake`), so the control plane is authenticated by the same HMAC
 * challenge/response of the cookie (never the cookie on the wire, both sides prove it),
 * and the rpc messages travel as its frames (compressed when large).
 *
 * @internal
 */
import * as Socket from "@effect/platform/Socket"
import { Effect, Exit, Queue, Scope } from "effect"
import type { Duplex } from "../../Transport/internal/duplex.js"
import type { Session, SessionClosed } from "../../Transport/types.js"

/** What a control client writes first on a connection: `RAINCTL1`. */
export const PREAMBLE: Uint8Array = new TextEncoder().encode("RAINCTL1")

/** How long an accepted connection may stay silent before its first bytes tell what it is. */
const SNIFF_MILLIS = 10_000

/** A duplex that hands out `first` before what arrives on `duplex` afterwards. */
const replay = (duplex: Duplex, first: Uint8Array): { readonly duplex: Duplex; readonly feed: (chunk: Uint8Array) => void } => {
  let handler: ((chunk: Uint8Array) => void) | undefined
  const early: Array<Uint8Array> = first.length > 0 ? [first] : []
  const wrapped: Duplex = {
    remoteAddress: duplex.remoteAddress,
    write: (chunk) => duplex.write(chunk),
    onData: (h) => {
      handler = h
      for (const chunk of early.splice(0)) h(chunk)
    },
    onClose: (h) => duplex.onClose(h),
    close: (error) => duplex.close(error),
    ...(duplex.busy === undefined ? {} : { busy: duplex.busy }),
    ...(duplex.onDrain === undefined ? {} : { onDrain: duplex.onDrain })
  }
  return { duplex: wrapped, feed: (chunk) => (handler === undefined ? early.push(chunk) : handler(chunk)) }
}

const concat = (chunks: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  return Buffer.concat(chunks)
}

/**
 * Routes an accepted connection by its first bytes: a node's handshake to `node`, a control
 * client (after its preamble) to `control`; anything else, or silence, is closed and told to
 * `refused`.
 */
export const sniff = (
  duplex: Duplex,
  node: (duplex: Duplex) => void,
  control: (duplex: Duplex) => void,
  refused: (why: string) => void
): void => {
  const chunks: Array<Uint8Array> = []
  let size = 0
  let feed: ((chunk: Uint8Array) => void) | undefined
  const timer = setTimeout(() => {
    if (feed !== undefined) return
    feed = () => {}
    refused(`${duplex.remoteAddress} sent nothing in ${SNIFF_MILLIS / 1000} s`)
    duplex.close(new Error("silent connection"))
  }, SNIFF_MILLIS)
  timer.unref?.()
  // Closed before it said anything (a peer's abandoned connect, a port scan): nothing to refuse.
  // Routing hands the duplex on, and the new owner's `onClose` replaces this one.
  duplex.onClose(() => {
    clearTimeout(timer)
    feed ??= () => {}
  })
  const route = (to: (duplex: Duplex) => void, rest: Uint8Array) => {
    clearTimeout(timer)
    const r = replay(duplex, rest)
    feed = r.feed
    to(r.duplex)
  }
  duplex.onData((chunk) => {
    if (feed !== undefined) return feed(chunk)
    chunks.push(chunk)
    size += chunk.length
    const head = concat(chunks)
    if (head[0] !== PREAMBLE[0]) return route(node, head)
    for (let i = 0; i < Math.min(head.length, PREAMBLE.length); i++) {
      if (head[i] !== PREAMBLE[i]) {
        clearTimeout(timer)
        feed = () => {}
        refused(`${duplex.remoteAddress} is neither a node nor a control client (bad first bytes)`)
        return duplex.close(new Error("not a rain connection"))
      }
    }
    if (size >= PREAMBLE.length) route(control, head.subarray(PREAMBLE.length))
  })
}

const END: unique symbol = Symbol("end")

/**
 * An `@effect/platform` `Socket` over sessions: the first `run` uses `first`, every later
 * `run` (the rpc client's reconnects) opens a new one with `open`. The writer writes to the
 * session of the current run.
 */
export const sessionSocket = (
  first: Session | undefined,
  open: Effect.Effect<Session, Socket.SocketError>
): Socket.Socket => {
  let pending: Session | undefined = first
  let current: Session | undefined = first
  const acquire = Effect.suspend(() => {
    const session = pending
    pending = undefined
    return session !== undefined && session.isOpen ? Effect.succeed(session) : open
  })
  const runRaw = <_, E, R>(
    handler: (_: string | Uint8Array) => Effect.Effect<_, E, R> | void,
    options?: { readonly onOpen?: Effect.Effect<void> | undefined }
  ): Effect.Effect<void, Socket.SocketError | E, R> =>
    Effect.scoped(Effect.gen(function*() {
      const session = yield* acquire
      current = session
      yield* Effect.addFinalizer(() => session.close)
      const queue = yield* Queue.unbounded<Uint8Array | typeof END>()
      let closed: SessionClosed | undefined
      session.setHandler({
        onFrame: (payload) => void queue.unsafeOffer(payload),
        onClose: (reason) => {
          closed = reason
          queue.unsafeOffer(END)
        }
      })
      if (options?.onOpen !== undefined) yield* options.onOpen
      for (;;) {
        const item = yield* Queue.take(queue)
        if (item === END) break
        const result = handler(item)
        if (Effect.isEffect(result)) yield* result
      }
      if (closed !== undefined && (closed.reason === "protocol" || closed.reason === "transport")) {
        return yield* new Socket.SocketGenericError({ reason: "Read", cause: closed })
      }
      return yield* new Socket.SocketCloseError({ reason: "Close", code: 1000, closeReason: closed?.detail })
    }))
  const writer = Effect.succeed((chunk: Uint8Array | string | Socket.CloseEvent): Effect.Effect<void, Socket.SocketError> =>
    Effect.suspend(() => {
      const session = current
      if (session === undefined) {
        return Effect.fail(new Socket.SocketGenericError({ reason: "Write", cause: new Error("not connected") }))
      }
      if (Socket.isCloseEvent(chunk)) return session.close
      const sent = session.send(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk)
      return sent._tag === "Right" ? Effect.void : Effect.fail(new Socket.SocketGenericError({ reason: "Write", cause: sent.left }))
    })
  )
  return Socket.Socket.of({
    [Socket.TypeId]: Socket.TypeId,
    run: (handler, options) => runRaw((data) => handler(typeof data === "string" ? new TextEncoder().encode(data) : data), options),
    runRaw,
    writer
  })
}

/** Closes a scope when an Effect ends (for fire-and-forget connection fibers). */
export const closeWith = (scope: Scope.CloseableScope) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.onExit(self, (exit) => Scope.close(scope, Exit.asVoid(exit)))
