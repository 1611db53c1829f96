/**
 * Types and errors of the wire, shared by the transports, the handshake and the session.
 *
 * @since 0.1.0
 */
import type { Duration, Effect, Either } from "effect"
import { Schema } from "effect"
import type { MessageTooLarge } from "../Process/errors.js"

/**
 * Opening a listener or a connection failed (address in use, connection refused, TLS
 * verification failed, ...).
 *
 * @since 0.1.0
 */
export class TransportError extends Schema.TaggedError<TransportError>()("TransportError", {
  operation: Schema.Literal("listen", "connect"),
  address: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `Could not ${this.operation} ${this.operation === "listen" ? "on" : "to"} ${this.address}: ${this.detail}. ` +
      (this.operation === "listen"
        ? "Check that the port is free (or use port 0) and the certificate/key are valid"
        : "Check that the peer node is running, the address is right and (for TLS) the CA trusts its certificate")
  }
}

/**
 * The handshake with a peer failed; the connection is closed and the reason logged.
 * `reason` is one of `cookie` (the peers do not share the cookie), `version` (protocol
 * version mismatch), `name` (malformed node name), `malformed` (garbage or an unexpected
 * frame), `timeout`, `closed` (the peer hung up), `duplicate` (refused by the `accept`
 * hook, e.g. a handshake with that node is already under way), `simultaneous` (both nodes
 * connected at once and the other connection wins), `too_many_nodes` (the node is at its
 * `maxNodes` limit), `peer_rejected` (the peer refused us; `peerReason` says why).
 *
 * @since 0.1.0
 */
export class HandshakeRejected extends Schema.TaggedError<HandshakeRejected>()("HandshakeRejected", {
  reason: Schema.Literal(
    "cookie",
    "version",
    "name",
    "malformed",
    "timeout",
    "closed",
    "duplicate",
    "simultaneous",
    "too_many_nodes",
    "peer_rejected"
  ),
  detail: Schema.String,
  peer: Schema.optional(Schema.String),
  /** For `peer_rejected`: the reason the peer gave (`cookie`, `too_many_nodes`, ...). */
  peerReason: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const who = this.peer === undefined ? "a peer" : this.peer
    return `Handshake with ${who} rejected (${this.reason}): ${this.detail}. ${hintFor(this.reason === "peer_rejected" ? this.peerReason : this.reason)}`
  }
}

/** What to do about a refused handshake, by the reason either side gave. */
const hintFor = (reason: string | undefined): string => {
  switch (reason) {
    case "cookie":
      return "Start both nodes with the same cookie"
    case "version":
      return "Run the same Rain version on both nodes"
    case "name":
      return "Node names look like name@host"
    case "timeout":
      return "Check that the peer is a Rain node and reachable"
    case "duplicate":
      return "A handshake between these two nodes is already under way; the first one to finish is used"
    case "simultaneous":
      return "Both nodes connected at once; the connection the other node started is used (nothing to do)"
    case "too_many_nodes":
      return "The refusing node is at its network.maxNodes limit; raise it or disconnect a node there"
    case "malformed":
    case "closed":
      return "Check that the peer is a Rain node of the same version"
    default:
      return "The peer's log says why"
  }
}

/**
 * Why the `accept` hook of a handshake refuses a peer: `duplicate` (a connection or
 * handshake with that node exists), `simultaneous` (both nodes connected at once and the
 * other connection wins; logged at Debug, it is routine) or `too_many_nodes` (the node is
 * at its `maxNodes` limit). A plain string is a `duplicate` refusal with that detail.
 *
 * @since 0.2.0
 * @category models
 */
export interface HandshakeRefusal {
  readonly reason: "duplicate" | "simultaneous" | "too_many_nodes"
  readonly detail: string
}

/**
 * Why a session ended: closed by this node (`local`), by the peer (`peer`), after a
 * protocol violation such as garbage or an oversize frame (`protocol`), or by a transport
 * error (`transport`).
 *
 * @since 0.1.0
 */
export class SessionClosed extends Schema.TaggedError<SessionClosed>()("SessionClosed", {
  reason: Schema.Literal("local", "peer", "protocol", "transport"),
  detail: Schema.String
}) {
  override get message(): string {
    return `Connection closed (${this.reason}): ${this.detail}. Connect again to send more`
  }
}

/**
 * What each side of a handshake announces about itself.
 *
 * @since 0.1.0
 */
export interface PeerInfo {
  /** `name@host` */
  readonly name: string
  /** Incarnation number of the node. */
  readonly creation: number
  /** Whether the node accepts compressed frames. */
  readonly compression: boolean
  /** The largest encoded message the node accepts. */
  readonly maxMessageSize: number
}

/**
 * Options of both sides of a handshake.
 *
 * @since 0.1.0
 */
export interface HandshakeOptions {
  /** This node's name, `name@host`. */
  readonly name: string
  /** The shared secret; it never crosses the wire (HMAC-SHA256 challenge/response). */
  readonly cookie: string | Uint8Array
  /** This node's incarnation number (default 0). */
  readonly creation?: number
  /** Offer compression (default true); used when both sides offer it. */
  readonly compression?: boolean
  /** The largest encoded message this node accepts (default 64 MiB). */
  readonly maxMessageSize?: number
  /** Encoded payloads of at least this many bytes are compressed (default 1024). */
  readonly compressThreshold?: number
  /** Time allowed for the whole handshake (default 5 seconds; runs on Effect's `Clock`). */
  readonly handshakeTimeout?: Duration.DurationInput
  /**
   * Called with the peer on both sides before the session opens (on the acceptor, before
   * the initiator has proved the cookie); `false`, a string (the reason, told to the peer)
   * or a `HandshakeRefusal` rejects it. The node layer uses it to keep one connection per
   * pair of nodes, to break ties when two nodes connect to each other at once, and to
   * enforce `maxNodes`.
   */
  readonly accept?: (peer: PeerInfo) => Effect.Effect<boolean | string | HandshakeRefusal>
  /** Protocol version to announce; only for tests of version negotiation. */
  readonly protocolVersion?: number
}

/**
 * Receives the frames of a session (their payloads, decompressed), in order, synchronously
 * from the transport's data callback (keep it short: decode, enqueue and return).
 *
 * @since 0.1.0
 */
export interface SessionHandler {
  readonly onFrame: (payload: Uint8Array) => void
  readonly onClose?: (reason: SessionClosed) => void
}

/**
 * An authenticated connection to a peer node, the result of a successful handshake.
 *
 * @since 0.1.0
 */
export interface Session {
  readonly local: PeerInfo
  readonly peer: PeerInfo
  /** Whether compression was negotiated. */
  readonly compression: boolean
  /** The largest encoded message the peer accepts. */
  readonly maxMessageSize: number
  readonly isOpen: boolean
  /** The peer's transport address as the transport reports it (`127.0.0.1:53012`, `memory:3`). */
  readonly remoteAddress: string
  /** Whether this side opened the connection (`connect`) rather than accepted it. */
  readonly initiator: boolean
  /** Bytes read from and written to the transport so far, framing and handshake included. */
  readonly bytesIn: number
  readonly bytesOut: number
  /**
   * Queues a frame's payload, synchronously; frames sent during the same synchronous run
   * leave in one write. A payload of at least `compressThreshold` bytes is compressed when
   * both sides offered compression, unless `compress` is false. Fails without sending
   * anything when the payload is larger than the peer accepts or the session is closed.
   */
  readonly send: (payload: Uint8Array, compress?: boolean) => Either.Either<void, MessageTooLarge | SessionClosed>
  /** True while the transport holds back frames (its buffer is over its limit). */
  readonly busy: boolean
  /** Calls `callback` once the session is no longer busy (or has closed); at once if it is not busy. */
  readonly whenReady: (callback: () => void) => void
  /** Writes the queued frames now instead of at the end of the current synchronous run. */
  readonly flush: () => void
  /** Installs the receiver; frames that arrived before it are delivered first, in order. */
  readonly setHandler: (handler: SessionHandler) => void
  /** Closes the session after writing what is queued. */
  readonly close: Effect.Effect<void>
  /** Waits until the session is closed, with the reason. */
  readonly closed: Effect.Effect<SessionClosed>
}
