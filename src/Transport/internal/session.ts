/**
 * Framing, handshake and the session over a `Duplex`.
 *
 * Frame: `u32 BE length` (of what follows), `u8 flags` (bit 0: payload is deflate-raw
 * compressed), payload. The handshake frames are msgpack maps (with a small maximum size);
 * the session's frames are opaque bytes, encoded by the layer above (the node's codec).
 *
 * @internal
 */
import { Cause, Deferred, Duration, Effect, Either, FiberId, Runtime } from "effect"
import { Packr } from "msgpackr"
import * as crypto from "node:crypto"
import * as zlib from "node:zlib"
import { MessageTooLarge } from "../../Process/errors.js"
import type { Duplex } from "./duplex.js"
import {
  HandshakeRejected,
  type HandshakeOptions,
  type HandshakeRefusal,
  type PeerInfo,
  type Session,
  SessionClosed,
  type SessionHandler
} from "../types.js"

/**
 * 2: every Rain class on the wire has a namespaced identifier (`rain/Process/Down`, ...)
 * and the idle-timeout message is `IdleTimeout`; a version-1 peer would decode them as
 * other classes, so the handshake refuses it.
 *
 * @internal
 */
export const PROTOCOL_VERSION = 2
/** @internal */
export const HANDSHAKE_MAX_FRAME = 64 * 1024
/** @internal */
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024
/** @internal */
export const DEFAULT_COMPRESS_THRESHOLD = 1024
const FLAG_COMPRESSED = 1
const NAME_RE = /^[A-Za-z0-9_.+-]{1,255}@[A-Za-z0-9_.:[\]-]{1,255}$/

const RIGHT_VOID: Either.Either<void, never> = Either.right(undefined)

/** Handshake frames are plain maps: no extensions, no records. */
const handshakeCodec = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })
const encodeHandshake = (value: object): Buffer => handshakeCodec.pack(value)
const decodeHandshake = (bytes: Uint8Array): Either.Either<unknown, string> => {
  try {
    return Either.right(handshakeCodec.unpack(bytes))
  } catch (e) {
    return Either.left(e instanceof Error ? e.message : String(e))
  }
}

type Phase = "handshake" | "open" | "closed"

/**
 * One connection: a frame reader, a coalescing writer and the close bookkeeping. Before the
 * handshake completes frames are queued for `nextFrame`; afterwards they go to the session
 * handler (or wait in `early` until one is installed).
 */
export class Connection implements Session {
  phase: Phase = "handshake"
  /** Bytes read and written on this connection, handshake included. */
  bytesIn = 0
  bytesOut = 0
  // reader
  private pending: Array<Buffer> = []
  private pendingLen = 0
  private need = 4
  maxFrame = HANDSHAKE_MAX_FRAME
  // handshake frames
  private hsFrames: Array<Buffer> = []
  private hsWaiter: ((frame: Buffer | undefined) => void) | undefined
  // session
  local!: PeerInfo
  peer!: PeerInfo
  compression = false
  maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE
  private compressThreshold = DEFAULT_COMPRESS_THRESHOLD
  private handler: SessionHandler | undefined
  private early: Array<Uint8Array> = []
  // writer
  private outQ: Array<Uint8Array> = []
  private outFlags: Array<number> = []
  private outBytes = 0
  private scheduled = false
  private waitingForDrain = false
  private readyWaiters: Array<() => void> = []
  private readonly drained = (): void => {
    this.waitingForDrain = false
    this.flush()
    if (!this.waitingForDrain) this.wakeReady()
  }

  private wakeReady(): void {
    const waiters = this.readyWaiters
    if (waiters.length === 0) return
    this.readyWaiters = []
    for (let i = 0; i < waiters.length; i++) waiters[i]!() // i < waiters.length
  }

  /** Whether the duplex does backpressure and is over its limit now. */
  private duplexBusy(): boolean {
    const duplex = this.duplex
    return duplex.busy !== undefined && duplex.onDrain !== undefined && duplex.busy()
  }

  get busy(): boolean {
    return this.phase !== "closed" && (this.waitingForDrain || this.duplexBusy())
  }

  whenReady(callback: () => void): void {
    if (!this.busy) return callback()
    this.readyWaiters.push(callback)
    // The duplex may be busy without a flush having noticed it yet.
    if (!this.waitingForDrain && !this.scheduled) {
      this.scheduled = true
      queueMicrotask(this.flush)
    }
  }
  // close
  closeReason: SessionClosed | undefined
  readonly closedDeferred: Deferred.Deferred<SessionClosed>

  constructor(
    readonly duplex: Duplex,
    private readonly runtime: Runtime.Runtime<never>,
    private readonly role: "initiator" | "acceptor"
  ) {
    this.closedDeferred = Deferred.unsafeMake(FiberId.none)
    duplex.onData(this.onChunk)
    duplex.onClose((error) => {
      this.finish(
        error === undefined
          ? new SessionClosed({ reason: "peer", detail: "the peer closed the connection" })
          : new SessionClosed({ reason: "transport", detail: String(error) })
      )
    })
  }

  log(level: "warning" | "info" | "debug", message: string): void {
    const eff = level === "warning"
      ? Effect.logWarning(message)
      : level === "info"
      ? Effect.logInfo(message)
      : Effect.logDebug(message)
    Runtime.runFork(this.runtime)(
      eff.pipe(Effect.annotateLogs({
        module: "rain/Transport",
        remote: this.duplex.remoteAddress,
        role: this.role,
        ...(this.peer === undefined ? {} : { peer: this.peer.name })
      }))
    )
  }

  // --- reading -------------------------------------------------------------------------

  /**
   * Hot path: parses every complete frame of a chunk in place. A frame split across chunks
   * is completed with only the bytes of the next chunk it lacks (copying that frame, not the
   * chunk), and the rest of that chunk is parsed in place.
   */
  private onChunk = (chunk: Uint8Array): void => {
    if (this.phase === "closed") return
    this.bytesIn += chunk.byteLength
    let data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    while (this.pendingLen > 0) {
      const missing = this.need - this.pendingLen
      if (data.length < missing) {
        this.pending.push(data)
        this.pendingLen += data.length
        return
      }
      this.pending.push(data.subarray(0, missing))
      const head = Buffer.concat(this.pending, this.need)
      this.pending = []
      this.pendingLen = 0
      data = data.subarray(missing)
      // `head` is a whole frame, or a frame's length alone (then pending again, needing the frame)
      this.parse(head)
      if (data.length === 0 || this.isClosed()) return
    }
    this.parse(data)
  }

  /** Parses the complete frames of `data` in place and keeps an incomplete one's start pending. */
  private parse(data: Buffer): void {
    let off = 0
    const end = data.length
    while (!this.isClosed()) {
      if (end - off < 4) {
        this.need = 4
        break
      }
      const len = data.readUInt32BE(off)
      if (len === 0 || len > this.maxFrame) {
        this.protocolError(
          len === 0
            ? "empty frame"
            : `frame of ${len} bytes exceeds the maximum of ${this.maxFrame} bytes (garbage or a peer with a larger maxMessageSize)`
        )
        return
      }
      if (end - off - 4 < len) {
        this.need = 4 + len
        break
      }
      // len >= 1 and off + 4 + len <= end, so the flags byte at off + 4 is in range
      const flags = data[off + 4]!
      const payload = data.subarray(off + 5, off + 4 + len)
      off += 4 + len
      this.onFrame(flags, payload)
    }
    if (off < end && !this.isClosed()) {
      const rest = off === 0 ? data : data.subarray(off)
      this.pending.push(rest)
      this.pendingLen = rest.length
    }
  }

  // A method, not a field read, so TypeScript does not narrow `phase` across callbacks.
  isClosed(): boolean {
    return this.phase === "closed"
  }

  private onFrame(flags: number, payload: Buffer): void {
    if (this.phase === "handshake") {
      if (flags !== 0) return this.protocolError(`unexpected flags ${flags} in a handshake frame`)
      const w = this.hsWaiter
      if (w !== undefined) {
        this.hsWaiter = undefined
        w(payload)
      } else this.hsFrames.push(payload)
      return
    }
    if ((flags & ~FLAG_COMPRESSED) !== 0) return this.protocolError(`unknown frame flags ${flags}`)
    let bytes: Uint8Array = payload
    if (flags & FLAG_COMPRESSED) {
      if (!this.compression) return this.protocolError("compressed frame on a connection without compression")
      try {
        bytes = zlib.inflateRawSync(payload, { maxOutputLength: this.localMax() })
      } catch (e) {
        return this.protocolError(`corrupt compressed frame: ${String(e)}`)
      }
    }
    const h = this.handler
    if (h === undefined) this.early.push(bytes)
    else h.onFrame(bytes)
  }

  private localMax(): number {
    return this.local === undefined ? DEFAULT_MAX_MESSAGE_SIZE : this.local.maxMessageSize
  }

  private protocolError(reason: string): void {
    if (this.phase === "closed") return
    // During the handshake the handshake's own failure reports it (one line per connection).
    if (this.phase !== "handshake") this.log("warning", `closing connection: ${reason}`)
    this.finish(new SessionClosed({ reason: "protocol", detail: reason }), true)
  }

  /** Waits for the next handshake frame; `undefined` when the connection closed. */
  nextFrame(): Effect.Effect<Buffer | undefined> {
    return Effect.async<Buffer | undefined>((resume) => {
      if (this.hsFrames.length > 0) return resume(Effect.succeed(this.hsFrames.shift()))
      if (this.phase === "closed") return resume(Effect.succeed(undefined))
      this.hsWaiter = (f) => resume(Effect.succeed(f))
      return Effect.sync(() => {
        this.hsWaiter = undefined
      })
    })
  }

  /** Writes one frame now (handshake only: no coalescing). */
  writeNow(payload: Uint8Array): void {
    const buf = Buffer.allocUnsafe(5 + payload.length)
    buf.writeUInt32BE(1 + payload.length, 0)
    buf[4] = 0
    buf.set(payload, 5)
    this.bytesOut += buf.length
    this.duplex.write(buf)
  }

  open(local: PeerInfo, peer: PeerInfo, options: HandshakeOptions): void {
    this.local = local
    this.peer = peer
    this.compression = local.compression && peer.compression
    this.maxMessageSize = peer.maxMessageSize
    this.maxFrame = local.maxMessageSize + 1
    this.compressThreshold = options.compressThreshold ?? DEFAULT_COMPRESS_THRESHOLD
    this.phase = "open"
    // Frames that followed the handshake in the same chunk were queued as handshake frames.
    const queued = this.hsFrames
    this.hsFrames = []
    for (let i = 0; i < queued.length && this.phase === "open"; i++) this.onFrame(0, queued[i]!) // i < queued.length
  }

  // --- Session -------------------------------------------------------------------------

  get isOpen(): boolean {
    return this.phase === "open"
  }

  get remoteAddress(): string {
    return this.duplex.remoteAddress
  }

  get initiator(): boolean {
    return this.role === "initiator"
  }

  /**
   * Hot path: compresses above the threshold (unless `compress` is false) and queues; all
   * frames sent in the same synchronous run leave in one `write` (see `flush`).
   */
  send(payload: Uint8Array, compress = true): Either.Either<void, MessageTooLarge | SessionClosed> {
    if (this.phase !== "open") {
      return Either.left(this.closeReason ?? new SessionClosed({ reason: "local", detail: "handshake not complete" }))
    }
    if (payload.length > this.maxMessageSize) {
      return Either.left(new MessageTooLarge({ size: payload.length, limit: this.maxMessageSize }))
    }
    let flags = 0
    if (compress && this.compression && payload.length >= this.compressThreshold) {
      // deflate-raw level 1: fast and in node:zlib everywhere; brotli was not measured.
      const c = zlib.deflateRawSync(payload, { level: 1 })
      if (c.length < payload.length) {
        payload = c
        flags = FLAG_COMPRESSED
      }
    }
    this.outQ.push(payload)
    this.outFlags.push(flags)
    this.outBytes += 5 + payload.length
    if (!this.scheduled) {
      // A microtask: everything sent during the current synchronous run (a kernel drain, a
      // burst of sends) leaves in one write, without waiting for the next event-loop turn.
      this.scheduled = true
      queueMicrotask(this.flush)
    }
    return RIGHT_VOID
  }

  /** Hot path: one allocation and one `write` for every frame queued since the last flush. */
  readonly flush = (force?: boolean): void => {
    this.scheduled = false
    const q = this.outQ
    const fl = this.outFlags
    const n = q.length
    if (this.phase === "closed" || (this.waitingForDrain && force !== true)) return
    if (force !== true && this.duplexBusy()) {
      // Backpressure: keep the frames (they leave together, later) until the duplex drains.
      if (n === 0 && this.readyWaiters.length === 0) return
      this.waitingForDrain = true
      this.duplex.onDrain!(this.drained)
      return
    }
    if (n === 0) return
    // A pooled buffer is a slice of a shared ArrayBuffer: a duplex that transfers would copy it.
    const buf = this.duplex.ownsWrites === true ? Buffer.allocUnsafeSlow(this.outBytes) : Buffer.allocUnsafe(this.outBytes)
    let off = 0
    for (let i = 0; i < n; i++) {
      // outQ and outFlags are pushed and reset together, so both have n entries
      const p = q[i]!
      buf.writeUInt32BE(1 + p.length, off)
      buf[off + 4] = fl[i]!
      buf.set(p, off + 5)
      off += 5 + p.length
    }
    this.outQ = []
    this.outFlags = []
    this.outBytes = 0
    this.bytesOut += buf.length
    this.duplex.write(buf)
  }

  setHandler(handler: SessionHandler): void {
    this.handler = handler
    const early = this.early
    this.early = []
    for (let i = 0; i < early.length; i++) handler.onFrame(early[i]!) // i < early.length
  }

  get close(): Effect.Effect<void> {
    return Effect.sync(() => {
      this.flush(true)
      this.finish(new SessionClosed({ reason: "local", detail: "closed by this node" }), false)
    })
  }

  get closed(): Effect.Effect<SessionClosed> {
    return Deferred.await(this.closedDeferred)
  }

  finish(reason: SessionClosed, abort = false): void {
    if (this.phase === "closed") return
    this.phase = "closed"
    this.closeReason = reason
    this.outQ = []
    this.outFlags = []
    this.pending = []
    const w = this.hsWaiter
    this.hsWaiter = undefined
    if (w !== undefined) w(undefined)
    this.duplex.close(abort ? reason : undefined)
    this.wakeReady()
    Deferred.unsafeDone(this.closedDeferred, Effect.succeed(reason))
    if (this.handler?.onClose !== undefined) this.handler.onClose(reason)
  }
}

// --- handshake -----------------------------------------------------------------------

const proof = (cookie: Uint8Array, nonce: Uint8Array, prover: string, verifier: string): Buffer =>
  crypto.createHmac("sha256", cookie).update("rain-handshake-v1\0").update(nonce).update(prover).update("\0")
    .update(verifier).digest()

const proofOk = (expected: Buffer, got: unknown): boolean =>
  got instanceof Uint8Array && got.length === expected.length && crypto.timingSafeEqual(expected, got)

interface Hello {
  readonly t: "hello"
  readonly v: number
  readonly name: string
  readonly creation: number
  readonly compression: boolean
  readonly maxMessageSize: number
  readonly nonce: Uint8Array
  readonly proof?: Uint8Array
}

const isHello = (u: any): u is Hello =>
  typeof u === "object" && u !== null && u.t === "hello" && typeof u.v === "number" &&
  typeof u.name === "string" && typeof u.creation === "number" && typeof u.compression === "boolean" &&
  typeof u.maxMessageSize === "number" && u.maxMessageSize > 0 && u.nonce instanceof Uint8Array &&
  u.nonce.length === 32

/** Refusals that are part of normal operation: logged at Debug, not as warnings. */
const routine = (reason: string | undefined): boolean => reason === "simultaneous"

const reject = (
  conn: Connection,
  reason: HandshakeRejected["reason"],
  detail: string,
  peer?: string,
  tell = true,
  peerReason?: string
) =>
  Effect.suspend(() => {
    if (tell && conn.phase === "handshake") {
      conn.writeNow(encodeHandshake({ t: "reject", reason, detail }))
    }
    const err = new HandshakeRejected({
      reason,
      detail,
      ...(peer === undefined ? {} : { peer }),
      ...(peerReason === undefined ? {} : { peerReason })
    })
    conn.log(routine(reason) || routine(peerReason) ? "debug" : "warning", `handshake failed: ${err.message}`)
    conn.finish(new SessionClosed({ reason: "protocol", detail: `handshake: ${detail}` }))
    return Effect.fail(err)
  })

const readFrame = (conn: Connection, peer?: string): Effect.Effect<any, HandshakeRejected> =>
  Effect.flatMap(conn.nextFrame(), (frame) => {
    if (frame === undefined) {
      const why = conn.closeReason?.detail ?? "connection closed"
      return reject(conn, conn.closeReason?.reason === "protocol" ? "malformed" : "closed", why, peer, false)
    }
    const r = decodeHandshake(frame)
    if (Either.isLeft(r)) return reject(conn, "malformed", `undecodable handshake frame: ${r.left}`, peer)
    const m: any = r.right
    if (typeof m === "object" && m !== null && m.t === "reject") {
      const detail = typeof m.detail === "string" ? `: ${m.detail}` : ""
      const why = String(m.reason)
      return reject(conn, "peer_rejected", `the peer rejected the handshake (${why}${detail})`, peer, false, why)
    }
    return Effect.succeed(m)
  })

/** @internal */
export const handshake = (
  duplex: Duplex,
  role: "initiator" | "acceptor",
  options: HandshakeOptions
): Effect.Effect<Session, HandshakeRejected> =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) => {
    const conn = new Connection(duplex, runtime, role)
    const cookie = typeof options.cookie === "string" ? Buffer.from(options.cookie, "utf8") : options.cookie
    const local: PeerInfo = {
      name: options.name,
      creation: options.creation ?? 0,
      compression: options.compression ?? true,
      maxMessageSize: options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
    }
    const nonce = crypto.randomBytes(32)
    const hello = (proofBytes?: Uint8Array) => {
      const h: Hello = {
        t: "hello",
        v: options.protocolVersion ?? PROTOCOL_VERSION,
        name: local.name,
        creation: local.creation,
        compression: local.compression,
        maxMessageSize: local.maxMessageSize,
        nonce,
        ...(proofBytes === undefined ? {} : { proof: proofBytes })
      }
      conn.writeNow(encodeHandshake(h))
    }
    const checkHello = (m: unknown): Effect.Effect<Hello, HandshakeRejected> => {
      if (!isHello(m)) return reject(conn, "malformed", "expected a hello frame")
      if (m.v !== PROTOCOL_VERSION) {
        return reject(conn, "version", `peer speaks protocol version ${m.v}, this node ${PROTOCOL_VERSION}`, m.name)
      }
      if (!NAME_RE.test(m.name)) return reject(conn, "name", `bad node name ${JSON.stringify(m.name)}`)
      return Effect.succeed(m)
    }
    const peerInfo = (h: Hello): PeerInfo => ({
      name: h.name,
      creation: h.creation,
      compression: h.compression,
      maxMessageSize: h.maxMessageSize
    })
    const accept = (peer: PeerInfo): Effect.Effect<true | HandshakeRefusal> =>
      options.accept === undefined
        ? Effect.succeed(true)
        : Effect.map(options.accept(peer), (ok) =>
          ok === true
            ? true
            : ok === false
            ? { reason: "duplicate", detail: "refused by the accept hook" }
            : typeof ok === "string"
            ? { reason: "duplicate", detail: ok }
            : ok)

    const run: Effect.Effect<Session, HandshakeRejected> = role === "initiator"
      ? Effect.gen(function*() {
        hello()
        const h = yield* Effect.flatMap(readFrame(conn), checkHello)
        if (!proofOk(proof(cookie, nonce, h.name, local.name), h.proof)) {
          return yield* reject(conn, "cookie", "the acceptor's proof does not match our cookie", h.name)
        }
        const peer = peerInfo(h)
        const accepted = yield* accept(peer)
        if (accepted !== true) return yield* reject(conn, accepted.reason, accepted.detail, h.name)
        conn.writeNow(encodeHandshake({ t: "proof", proof: proof(cookie, h.nonce, local.name, h.name) }))
        const ok = yield* readFrame(conn, h.name)
        if (ok?.t !== "ok") return yield* reject(conn, "malformed", "expected the acceptor's ok", h.name)
        conn.open(local, peer, options)
        conn.log("debug", `session open with ${peer.name}`)
        return conn as Session
      })
      : Effect.gen(function*() {
        const h = yield* Effect.flatMap(readFrame(conn), checkHello)
        if (h.proof !== undefined) return yield* reject(conn, "malformed", "unexpected proof in the first hello", h.name)
        const peer = peerInfo(h)
        const accepted = yield* accept(peer)
        if (accepted !== true) return yield* reject(conn, accepted.reason, accepted.detail, h.name)
        hello(proof(cookie, h.nonce, local.name, h.name))
        const p = yield* readFrame(conn, h.name)
        if (p?.t !== "proof") return yield* reject(conn, "malformed", "expected the initiator's proof", h.name)
        if (!proofOk(proof(cookie, nonce, h.name, local.name), p.proof)) {
          return yield* reject(conn, "cookie", "the initiator's proof does not match our cookie", h.name)
        }
        conn.writeNow(encodeHandshake({ t: "ok" }))
        conn.open(local, peer, options)
        conn.log("debug", `session open with ${peer.name}`)
        return conn as Session
      })

    return run.pipe(
      Effect.timeoutFail({
        duration: options.handshakeTimeout ?? Duration.seconds(5),
        onTimeout: () => {
          conn.log("warning", "handshake timed out")
          conn.finish(new SessionClosed({ reason: "protocol", detail: "handshake timed out" }), true)
          return new HandshakeRejected({ reason: "timeout", detail: "the peer did not complete the handshake in time" })
        }
      }),
      Effect.onInterrupt(() => Effect.sync(() => conn.finish(new SessionClosed({ reason: "local", detail: "interrupted" }), true))),
      Effect.catchAllDefect((d) => reject(conn, "malformed", `handshake defect: ${Cause.pretty(Cause.die(d))}`))
    )
  })
