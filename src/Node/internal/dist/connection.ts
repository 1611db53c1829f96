/**
 * Distribution: one `Transport.Session` per pair of nodes (any transport: TCP, TLS, in
 * memory or custom; the session does framing, the HMAC cookie handshake, negotiated
 * compression and coalesced writes), carrying batches of msgpack frames. `Distribution`
 * implements the kernel's `Remote` seam and reaches the kernel only through `Local`
 * (both in `remote.ts`).
 *
 * Why not @effect/rpc for messages (see DESIGN.md "The wire"): every rpc message costs
 * 100-250 us of CPU per side, far above the budget of a message; a framed msgpack protocol
 * over one long-lived session, with every frame produced during one turn of the event loop
 * written at once, meets it. The frames (`frames.ts`) are the control messages of Erlang's
 * distribution protocol.
 *
 * One concern per file: `frames.ts` (the frames), `conn.ts` (a session with batched
 * writes), `peers.ts` (connect, tie-break, net tick, up/down), `dispatch.ts` (what
 * arrives), `spawn.ts` (remote spawn and application start).
 *
 * Hot path: `send`, `call`, `reply` and `check` run for every message, call and reply to
 * another node.
 *
 * @internal
 */
import type { Exit, Runtime, Scope } from "effect"
import type { Spec as ApplicationSpec } from "../../../Application/index.js"
import { Duration, Effect, Runtime as R } from "effect"
import type { EncodeFailed, TypeNotRegistered } from "../../../Message/errors.js"
import { EncodeFailed as EncodeFailedError } from "../../../Message/errors.js"
import { bytesEstimate, encodeExit, isRefusal, pack, prepare, register } from "../../../Message/internal/codec.js"
import type { Priority } from "../../../Process/Behaviour.js"
import { MessageTooLarge } from "../../../Process/errors.js"
import * as Reason from "../../../Process/ExitReason.js"
import type { ExitReason } from "../../../Process/ExitReason.js"
import type { Alias, Name, Pid, Reference } from "../../../Process/Pid.js"
import * as Transport from "../../../Transport/index.js"
import type { NetworkOptions } from "../../NetworkOptions.js"
import type { TraceContext } from "../mailbox.js"
import type { Local, Remote } from "../remote.js"
import type { Frame, SpawnRequest } from "./frames.js"
import { Drops } from "./drops.js"
import {
  CALL,
  DEMONITOR,
  DOWN,
  EXIT,
  LINK,
  laneCode,
  MONITOR,
  REPLY,
  SEND,
  SEND_IMPORTANT,
  UNLINK,
  wireAddress,
  wireRef
} from "./frames.js"
import { Peers } from "./peers.js"
import { Spawns } from "./spawn.js"

/** Room in a frame for the envelope of a message of the maximum size. */
const FRAME_SLACK = 4096

/** Whether a value packs (for the rare frames that carry arbitrary causes). */
const encodes = (value: unknown): boolean => {
  try {
    pack(value)
    return true
  } catch {
    return false
  }
}

/** An exit reason as it may cross the wire: itself when it encodes, else its text. */
const wireReason = (reason: ExitReason): ExitReason => (encodes(reason) ? reason : Reason.error(Reason.format(reason)))

/** The distribution layer of one node. */
export class Distribution implements Remote {
  readonly maxFrame: number
  readonly maxMessage: number
  readonly transport: Transport.Transport
  /** `connectTimeout` and `tickTime` in milliseconds (checked by `startDistribution`). */
  readonly connectTimeoutMillis: number
  readonly tickMillis: number
  /** How long the event loop keeps polling after a request or an answer leaves (`network.busyWait`). */
  readonly busyWaitMillis: number
  /** `network.maxNodes`: the most peers kept connected (Infinity: no limit). */
  readonly maxNodes: number
  readonly peers: Peers
  readonly spawns: Spawns
  /** What this node dropped of what its peers sent: counted, and logged at most once a second per target. */
  readonly drops: Drops
  port = 0
  /** Where peers connect (`host:port` for TCP and TLS). */
  address = ""
  /** Starts an allowed application another node asked for (installed by `Node.start`, see `applications.ts`). */
  startApplication: ((spec: ApplicationSpec) => Promise<string | undefined>) | undefined = undefined
  /** Serves a control client's connection (installed by `Node.start`, see `Rpc/internal/controlServer.ts`). */
  control: ((duplex: Transport.Duplex) => void) | undefined = undefined

  constructor(
    readonly local: Local,
    readonly options: NetworkOptions,
    readonly runtime: Runtime.Runtime<any>,
    maxMessageSize: number
  ) {
    this.maxMessage = options.maxMessageSize ?? maxMessageSize
    this.maxFrame = this.maxMessage + FRAME_SLACK
    this.connectTimeoutMillis = Duration.toMillis(Duration.decode(options.connectTimeout ?? "5 seconds"))
    this.tickMillis = Duration.toMillis(Duration.decode(options.tickTime ?? "20 seconds"))
    this.busyWaitMillis = Duration.toMillis(Duration.decode(options.busyWait ?? "100 micros"))
    this.maxNodes = options.maxNodes ?? Infinity
    if (options.messages !== undefined) register(...options.messages)
    const t = options.tls
    this.transport = options.transport ?? (t === undefined
      ? Transport.tcp({ host: options.host, port: options.port })
      : Transport.tls({ ...t, host: options.host, port: options.port }))
    this.peers = new Peers(this)
    this.spawns = new Spawns(this)
    this.drops = new Drops((message) => this.log(message), local.now)
  }

  log(message: string): void {
    R.runFork(this.runtime)(Effect.logWarning(message).pipe(Effect.annotateLogs({ node: this.local.name })))
  }

  /** Starts listening on the transport; the scope closes the listener. */
  listen(): Effect.Effect<Transport.Listener, Transport.TransportError, Scope.Scope> {
    return Effect.tap(this.peers.listen(), (listener) =>
      Effect.sync(() => {
        this.port = listener.port
        this.address = listener.address
      }))
  }

  /** Closes every connection (after sending what is queued) and the handshakes in progress. */
  stop(): void {
    this.peers.stop()
  }

  connect(node: string): Promise<string | undefined> {
    return this.peers.connect(node)
  }

  disconnect(node: string): void {
    this.peers.disconnect(node)
  }

  nodes(): Array<string> {
    return this.peers.nodes()
  }

  /** Asks a node to start one of its allowed applications; resolves with undefined or why not. */
  startRemoteApplication(node: string, name: string): Promise<string | undefined> {
    return this.spawns.startApplication(node, name)
  }

  // ---------------------------------------------------------------------------
  // Remote (called by the kernel)

  /**
   * Checks the payload at `frame[at]` now, so that the sender gets the error and nothing is
   * sent: every registered class in it validated by its schema (`prepare`), whatever its
   * size; a class instance goes on encoded. A small frame is packed with the rest of its
   * batch when the batch is written; a large one is packed now, on its own, and its exact
   * size checked. Hot path.
   */
  check<F extends Frame>(
    node: string,
    frame: F,
    at: number
  ): F | Buffer | TypeNotRegistered | EncodeFailed | MessageTooLarge {
    const payload = prepare(frame[at])
    if (isRefusal(payload)) return payload
    ;(frame as unknown as Array<unknown>)[at] = payload
    if (bytesEstimate(payload) < 512) return frame
    let bytes: Buffer
    try {
      bytes = pack([frame])
    } catch (error) {
      // a class instance inside a field its schema leaves as it is (Schema.Unknown), refused by its own
      return new EncodeFailedError({ type: "a nested value", path: "", detail: error instanceof Error ? error.message : String(error) })
    }
    // The smaller of this node's limit and the connected peer's.
    const session = this.peers.conn(node)?.session
    const limit = session === undefined ? this.maxMessage : Math.min(this.maxMessage, session.maxMessageSize - FRAME_SLACK)
    if (bytes.length > limit) return new MessageTooLarge({ size: bytes.length, limit })
    return bytes
  }

  send(from: Pid | undefined, to: Pid | Alias | Name, message: unknown, priority: Priority): unknown | undefined {
    const frame = this.check(
      to.node,
      [SEND, from === undefined ? null : wireAddress(from), wireAddress(to), message, laneCode(priority)],
      3
    )
    if (frame instanceof Error) return frame
    this.peers.enqueue(to.node, frame)
    return undefined
  }

  call(
    from: Pid | Alias,
    to: Pid | Name,
    ref: Reference,
    request: unknown,
    important?: boolean,
    trace?: TraceContext
  ): unknown | undefined {
    const frame = this.check(
      to.node,
      trace !== undefined
        ? [CALL, wireAddress(from), wireAddress(to), wireRef(ref), request, important === true, trace]
        : important === true
        ? [CALL, wireAddress(from), wireAddress(to), wireRef(ref), request, true]
        : [CALL, wireAddress(from), wireAddress(to), wireRef(ref), request],
      4
    )
    if (frame instanceof Error) return frame
    this.peers.enqueue(to.node, frame)
    return undefined
  }

  sendImportant(from: Pid | Alias, to: Pid | Alias | Name, ref: Reference, message: unknown, priority: Priority): unknown | undefined {
    const frame = this.check(
      to.node,
      [SEND_IMPORTANT, wireAddress(from), wireAddress(to), wireRef(ref), message, laneCode(priority)],
      4
    )
    if (frame instanceof Error) return frame
    this.peers.enqueue(to.node, frame)
    return undefined
  }

  reply(ref: Reference, exit: Exit.Exit<unknown, unknown>): void {
    // Checked and encoded now (encodeExit): a reply its schema rejects fails the caller with EncodeFailed.
    this.peers.enqueue(ref.node, [REPLY, wireRef(ref), encodeExit(exit)], false)
  }

  link(local: Pid, remote: Pid): void {
    this.peers.enqueue(remote.node, [LINK, local, remote])
  }

  unlink(local: Pid, remote: Pid): void {
    this.peers.enqueue(remote.node, [UNLINK, local, remote], false)
  }

  exit(from: Pid, to: Pid, reason: ExitReason, viaLink: boolean): void {
    this.peers.enqueue(to.node, [EXIT, from, to, wireReason(reason), viaLink], !viaLink)
  }

  monitor(watcher: Pid, target: Pid | Name, ref: Reference): void {
    this.peers.enqueue(target.node, [MONITOR, watcher, target, ref])
  }

  demonitor(watcher: Pid, target: Pid | Name, ref: Reference): void {
    this.peers.enqueue(target.node, [DEMONITOR, watcher, target, ref], false)
  }

  down(watcher: Pid, ref: Reference, target: Pid | Name, reason: ExitReason): void {
    this.peers.enqueue(watcher.node, [DOWN, watcher, ref, target, wireReason(reason)], false)
  }

  spawn(node: string, behaviour: string, args: unknown, options: SpawnRequest): Promise<Exit.Exit<Pid, unknown>> {
    return this.spawns.spawn(node, behaviour, args, options)
  }

  busy(node: string): boolean {
    const conn = this.peers.conn(node)
    return conn !== undefined && conn.session.busy
  }

  whenReady(node: string, callback: () => void): void {
    const conn = this.peers.conn(node)
    if (conn === undefined) return callback()
    conn.session.whenReady(callback)
  }

  isConnected(node: string): boolean {
    return this.peers.isConnected(node)
  }
}
