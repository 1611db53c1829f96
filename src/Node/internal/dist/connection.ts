/**
 * Distribution: one `Transport.Session` per pair of nodes (any transport: TCP, TLS, in
 * memory or custom; the session does framing, the HMAC cookie handshake, negotiated
 * compression and coalesced writes), carrying batches of msgpack frames, with Erlang's
 * tie-break for simultaneous connects. Implements the kernel's `Remote` seam.
 *
 * Why not @effect/rpc (as DESIGN.md "The wire" first said): the performance target of
 * >= 500k small messages/s one way between two OS processes is above @effect/rpc's
 * measured ceiling (~300k/s even with 1,000-message batches). A framed msgpack protocol
 * over a plain socket, with every frame produced during one turn of the event loop
 * written at once, meets it; the frames are the control messages of Erlang's
 * distribution protocol (send, call, reply, link, unlink, exit, monitor, demonitor,
 * down, spawn).
 *
 * @internal
 */
import type { Either, Scope } from "effect"
import { Duration, Effect, Exit, Fiber, FiberId, Runtime } from "effect"
import type { Behaviour, Priority, SpawnOptions } from "../../../Process/Behaviour.js"
import { MailboxFull, MessageTooLarge, ProcessUnknown } from "../../../Process/errors.js"
import * as Reason from "../../../Process/ExitReason.js"
import type { ExitReason } from "../../../Process/ExitReason.js"
import { Alias, Name, Pid, Reference, unsafeMake } from "../../../Process/Pid.js"
import type { Registrar, Route } from "../../../Registry/Registrar.js"
import * as Transport from "../../../Transport/index.js"
import type { Kernel } from "../kernel.js"
import { EXITING, makeFrom } from "../kernel.js"
import { CallEnvelope } from "../mailbox.js"
import type { Remote } from "../remote.js"
import {
  bytesEstimate,
  decodeExit,
  encodeExit,
  findUndecodable,
  pack,
  TypeNotRegistered,
  Undecodable,
  undecodableCount,
  unpackMultiple,
  unregisteredType
} from "../../../Message/internal/codec.js"
import type { WireClass } from "../../../Message/internal/codec.js"
import { register } from "../../../Message/internal/codec.js"
import { SpawnRefused } from "../../../Process/errors.js"

/** Distribution settings of a node (`NodeOptions.network`). */
export interface NetworkOptions {
  /** Shared secret; peers prove they know it with an HMAC challenge, it never crosses the wire. */
  readonly cookie: string
  /** Listen address (default "127.0.0.1"). */
  readonly host?: string | undefined
  /** Listen port (default 0: any free port). */
  readonly port?: number | undefined
  /**
   * TLS instead of plain TCP: this node's certificate and key, the CA that signs its peers'
   * certificates, and whether to require client certificates (mutual TLS). Peers' certificates
   * are always verified against `ca` (default: the system's CAs); `checkHostname: false` skips
   * matching the certificate to the peer's host (for certificates that name no host).
   */
  readonly tls?: Transport.TlsOptions | undefined
  /**
   * Another transport than TCP/TLS (`Transport.memory()`, or your own): `host`, `port` and
   * `tls` are then ignored, and routes give each node's transport address.
   */
  readonly transport?: Transport.Transport | undefined
  /**
   * Offer compression (deflate) for messages of at least `threshold` bytes (default 1024);
   * used on a connection when both nodes offer it. Off by default.
   */
  readonly compression?: boolean | { readonly threshold?: number | undefined } | undefined
  /** Largest frame in bytes, both ways (default: the node's `process.maxMessageSize`, 64 MiB). */
  readonly maxMessageSize?: number | undefined
  /** Static routes: node name to "host:port" (or another transport's address) or { host, port }. */
  readonly routes?: Readonly<Record<string, string | Route>> | undefined
  /** Where to register this node and look others up (see `Registrar`). */
  readonly registrar?: Registrar | undefined
  /** Behaviours other nodes may spawn here, by their `name`. */
  readonly allowSpawn?: ReadonlyArray<SpawnableBehaviour> | undefined
  /** Applications other nodes may start here (their specs; import the Application module). */
  readonly allowApplications?: ReadonlyArray<{ readonly name: string }> | undefined
  /** Schema classes that may cross nodes (both nodes must list them). */
  readonly messages?: ReadonlyArray<WireClass> | undefined
  /** How long a connection attempt may take (default 5000 ms). */
  readonly connectTimeoutMillis?: number | undefined
  /**
   * Like Erlang's net_ticktime: a connection that received nothing for this long is
   * considered lost (links and monitors fire); an idle one sends a tick every quarter
   * of it. Default 20000 ms.
   */
  readonly tickMillis?: number | undefined
}

/** Any behaviour (its handlers' services must be none: a remote spawn provides nothing). */
export interface SpawnableBehaviour {
  readonly name: string
  readonly init: (args: any, ctx: any) => unknown
}

// Frame kinds
const SEND = 1
const CALL = 2
const REPLY = 3
const LINK = 4
const UNLINK = 5
const EXIT = 6
const MONITOR = 7
const DEMONITOR = 8
const DOWN = 9
const SPAWN = 10
const SPAWNED = 11
const APP_START = 12
const TICK = 0

const priorities: ReadonlyArray<Priority> = ["normal", "urgent", "low" as Priority]
const priorityCode = (p: Priority): number => (p === "normal" ? 0 : p === "urgent" ? 1 : 2)

const nodeNamePattern = /^[A-Za-z0-9_.-]+@[A-Za-z0-9_.:-]+$/

/** Addresses in SEND/CALL frames as plain arrays (no extension lookup): [kind, a, b, c]. */
const fromAddress = (a: Pid | Alias | Name): ReadonlyArray<unknown> =>
  a instanceof Name ? [2, a.name, a.node] : [a instanceof Alias ? 1 : 0, a.node, a.id, a.creation]

const names = new Map<string, Name>()

/** Names are few and often used (`{ name, node }` sends): built once each. */
const nameOf = (name: string, node: string): Name => {
  const key = `${name}\u0000${node}`
  let found = names.get(key)
  if (found === undefined) {
    if (names.size > 10_000) names.clear()
    names.set(key, (found = new Name({ name, node }, true)))
  }
  return found
}

const toAddress = (w: ReadonlyArray<any>): Pid | Alias | Name =>
  w[0] === 2 ? nameOf(w[1], w[2]) : unsafeMake(w[0] === 1 ? Alias : Pid, w[1], w[2], w[3])

const toRef = (w: ReadonlyArray<any>): Reference => unsafeMake(Reference, w[0], w[1], w[2])

/** Whether a value packs (for the rare frames that carry arbitrary causes). */
const encodes = (value: unknown): boolean => {
  try {
    pack(value)
    return true
  } catch {
    return false
  }
}

/** Room in a frame for the envelope of a message of the maximum size. */
const FRAME_SLACK = 4096

/** Frames queued for a peer before they are written without waiting for the end of the run. */
const EARLY_FLUSH = 64

/** One authenticated session to a peer, with batched writes. */
class Conn {
  lastReceived = Date.now()
  lastSent = Date.now()
  private out: Array<unknown> = []
  private flushing = false
  closed = false
  abandoned = false
  readonly peerName: string
  readonly peerCreation: number

  constructor(
    readonly dist: Distribution,
    readonly session: Transport.Session
  ) {
    this.peerName = session.peer.name
    this.peerCreation = session.peer.creation
    session.setHandler({
      onFrame: (bytes) => {
        this.lastReceived = Date.now()
        dist.onFrame(this, bytes)
      },
      onClose: (reason) => this.close(reason.detail)
    })
  }

  /**
   * Queues a frame; the queue is written once the current synchronous run (a kernel
   * drain, a fiber's burst of sends) ends, so that everything it sent goes in one write.
   * A microtask rather than setImmediate: a long send loop that yields only to the
   * Effect scheduler still gets its batches onto the wire while it runs.
   */
  write(frame: unknown): void {
    if (this.closed) return
    if (this.out.push(frame) >= EARLY_FLUSH) {
      // Long runs leave in slices, so the peer starts on them while this node goes on:
      // both nodes work at once instead of taking turns (100 concurrent callers, say).
      this.flush()
      this.session.flush()
      return
    }
    if (!this.flushing) {
      this.flushing = true
      queueMicrotask(this.flush)
    }
  }

  readonly flush = (): void => {
    this.lastSent = Date.now()
    this.flushing = false
    const frames = this.out
    if (frames.length === 0 || this.closed) return
    this.out = []
    // Runs of small frames are packed together as one array (one pack call, one session
    // frame, never compressed); a large frame was packed at send time and goes on its own,
    // compressed when the session negotiated compression.
    let run: Array<unknown> = []
    for (const frame of frames) {
      if (frame instanceof Buffer) {
        this.sendRun(run)
        run = []
        this.sendBytes(frame, true)
      } else run.push(frame)
    }
    this.sendRun(run)
  }

  private sendRun(run: Array<unknown>): void {
    if (run.length === 0) return
    let bytes: Buffer
    try {
      bytes = pack(run)
    } catch {
      // a value that does not encode: find it, one frame at a time
      if (run.length === 1) {
        const frame = run[0] as Array<unknown>
        if (frame[0] === REPLY) {
          // the caller must hear of it rather than wait for its timeout
          this.sendRun([[REPLY, frame[1], [false, "the reply could not be encoded for the wire", false]]])
          return
        }
        this.dist.log(`Dropped a message to ${this.peerName} that does not encode`)
        return
      }
      for (const frame of run) this.sendRun([frame])
      return
    }
    if (bytes.length > this.session.maxMessageSize && run.length > 1) {
      const half = run.length >> 1
      this.sendRun(run.slice(0, half))
      this.sendRun(run.slice(half))
      return
    }
    this.sendBytes(bytes, false)
  }

  private sendBytes(bytes: Buffer, compress: boolean): void {
    const result = this.session.send(bytes, compress)
    if (result._tag === "Left" && result.left._tag === "MessageTooLarge") {
      this.dist.log(`Dropped a message to ${this.peerName}: ${result.left.message} (the peer's maxMessageSize is smaller than ours)`)
    }
  }

  /** Sends what is queued, then closes. */
  end(): void {
    if (this.closed) return
    this.flush()
    Effect.runSync(this.session.close)
  }

  destroy(reason: string): void {
    if (this.closed) return
    this.flush()
    this.close(reason)
    Effect.runSync(this.session.close)
  }

  close(reason: string): void {
    if (this.closed) return
    this.closed = true
    this.out = []
    this.dist.onClose(this, reason)
  }
}

/** A remote spawn (or application start) waiting for its answer. */
interface PendingSpawn {
  readonly node: string
  readonly behaviour: string
  readonly resolve: (exit: Exit.Exit<Pid, unknown>) => void
  readonly link?: Pid | undefined
  readonly monitor?: readonly [Pid, Reference] | undefined
}

/** A handshake in progress, outgoing or incoming; superseded attempts are abandoned. */
class Attempt {
  abandoned = false
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined = undefined
  abandon(): void {
    this.abandoned = true
    if (this.fiber !== undefined) this.fiber.unsafeInterruptAsFork(FiberId.none)
  }
}

/** What this node knows about another node. */
class Peer {
  state: "idle" | "pending" | "up" = "idle"
  conn: Conn | undefined = undefined
  outgoing: Attempt | undefined = undefined
  incoming: Attempt | undefined = undefined
  queue: Array<unknown> = []
  creation = 0
  timer: ReturnType<typeof setTimeout> | undefined = undefined
  waiters: Array<(error: string | undefined) => void> = []
  constructor(readonly name: string) {}
}

/** The distribution layer of one node. */
export class Distribution implements Remote {
  readonly peers = new Map<string, Peer>()
  readonly maxFrame: number
  readonly maxMessage: number
  readonly transport: Transport.Transport
  private readonly allow = new Map<string, Behaviour<any, any, any, any, any, any>>()
  private readonly spawns = new Map<number, PendingSpawn>()
  private readonly handshakes = new Set<Attempt>()
  private nextSpawn = 1
  private stopped = false
  port = 0
  /** Where peers connect (`host:port` for TCP and TLS). */
  address = ""
  /** Starts an application here (installed by `Node.start`, which knows the Application module). */
  startApplication: ((spec: { readonly name: string }) => Promise<string | undefined>) | undefined = undefined
  /** Called when a connection is lost or cannot be made (for `node.monitorNode`). */
  readonly downListeners = new Set<(node: string, reason: string) => void>()

  private nodeDown(node: string, reason: string): void {
    this.kernel.nodeDown(node, reason)
    for (const l of Array.from(this.downListeners)) l(node, reason)
  }

  constructor(
    readonly kernel: Kernel,
    readonly options: NetworkOptions,
    readonly runtime: Runtime.Runtime<any>,
    maxMessageSize: number
  ) {
    this.maxMessage = options.maxMessageSize ?? maxMessageSize
    this.maxFrame = this.maxMessage + FRAME_SLACK
    for (const b of options.allowSpawn ?? []) this.allow.set(b.name, b as Behaviour<any, any, any, any, any, any>)
    if (options.messages !== undefined) register(...options.messages)
    const t = options.tls
    this.transport = options.transport ?? (t === undefined
      ? Transport.tcp({ host: options.host, port: options.port })
      : Transport.tls({ ...t, host: options.host, port: options.port }))
  }

  log(message: string): void {
    Runtime.runFork(this.runtime)(Effect.logWarning(message).pipe(Effect.annotateLogs({ node: this.kernel.name })))
  }

  private ticker: ReturnType<typeof setInterval> | undefined = undefined

  /** Ticks idle connections and closes silent ones. */
  private startTicker(): void {
    const tick = this.options.tickMillis ?? 20_000
    this.ticker = setInterval(() => {
      const now = Date.now()
      for (const peer of this.peers.values()) {
        const conn = peer.conn
        if (peer.state !== "up" || conn === undefined) continue
        if (now - conn.lastReceived > tick) {
          this.log(`Connection to ${peer.name} lost: nothing received for ${tick} ms`)
          conn.destroy("net tick timeout")
        } else if (now - conn.lastSent >= tick / 4) conn.write([TICK])
      }
    }, Math.max(10, Math.floor(tick / 4)))
    this.ticker.unref()
  }

  /** The handshake options of this node, with the accept hook of one attempt. */
  private handshakeOptions(accept: (peer: Transport.PeerInfo) => true | string): Transport.HandshakeOptions {
    const compression = this.options.compression
    return {
      name: this.kernel.name,
      cookie: this.options.cookie,
      creation: this.kernel.creation,
      compression: compression !== undefined && compression !== false,
      ...(typeof compression === "object" && compression.threshold !== undefined
        ? { compressThreshold: compression.threshold }
        : {}),
      maxMessageSize: this.maxFrame,
      handshakeTimeout: Duration.millis(this.options.connectTimeoutMillis ?? 5000),
      accept: (peer) => Effect.sync(() => accept(peer))
    }
  }

  /** Runs a handshake on this node's runtime; `onDone` sees the session or the error. */
  private runHandshake<E>(
    attempt: Attempt,
    effect: Effect.Effect<Transport.Session, E>,
    onDone: (result: Either.Either<Transport.Session, E>) => void
  ): void {
    this.handshakes.add(attempt)
    const fiber = Runtime.runFork(this.runtime)(Effect.either(effect))
    attempt.fiber = fiber
    fiber.addObserver((exit) => {
      this.handshakes.delete(attempt)
      attempt.fiber = undefined
      if (exit._tag === "Success" && !this.stopped) onDone(exit.value)
      else if (exit._tag === "Success" && exit.value._tag === "Right") Effect.runSync(exit.value.right.close)
    })
  }

  /** Starts listening on the transport; the scope closes the listener. */
  listen(): Effect.Effect<Transport.Listener, Transport.TransportError, Scope.Scope> {
    return Effect.tap(
      this.transport.listen((duplex) => {
        if (this.stopped) return duplex.close(new Error("node stopping"))
        const attempt = new Attempt()
        this.runHandshake(
          attempt,
          Transport.handshake(duplex, "acceptor", this.handshakeOptions((info) => this.acceptIncoming(info, attempt))),
          (result) => this.incomingDone(attempt, result)
        )
      }),
      (listener) =>
        Effect.sync(() => {
          this.port = listener.port
          this.address = listener.address
          this.startTicker()
        })
    )
  }

  /** Closes every connection (after sending what is queued) and the handshakes in progress. */
  stop(): void {
    this.stopped = true
    if (this.ticker !== undefined) clearInterval(this.ticker)
    for (const attempt of this.handshakes) attempt.abandon()
    for (const peer of this.peers.values()) {
      if (peer.timer !== undefined) clearTimeout(peer.timer)
      peer.conn?.end()
    }
  }

  // ---------------------------------------------------------------------------
  // Peers

  private peer(node: string): Peer {
    let peer = this.peers.get(node)
    if (peer === undefined) this.peers.set(node, (peer = new Peer(node)))
    return peer
  }

  /** Queues a frame for a node, connecting first if needed. */
  private enqueue(node: string, frame: unknown, connect = true): void {
    if (this.stopped) return
    const peer = connect ? this.peer(node) : this.peers.get(node)
    if (peer === undefined) return
    if (peer.state === "up") return peer.conn!.write(frame)
    if (peer.state === "idle") {
      if (!connect) return
      this.startConnect(peer)
    }
    peer.queue.push(frame)
  }

  /** Connects to a node; resolves with undefined when up or with the reason it failed. */
  connect(node: string): Promise<string | undefined> {
    if (node === this.kernel.name) return Promise.resolve(undefined)
    if (!nodeNamePattern.test(node)) return Promise.resolve(`"${node}" is not a node name (name@host)`)
    const peer = this.peer(node)
    if (peer.state === "up") return Promise.resolve(undefined)
    if (peer.state === "idle") this.startConnect(peer)
    return new Promise((resolve) => peer.waiters.push(resolve))
  }

  disconnect(node: string): void {
    const peer = this.peers.get(node)
    if (peer === undefined) return
    if (peer.state === "up") peer.conn!.destroy("disconnected")
    else if (peer.state === "pending") this.fail(peer, "disconnected")
  }

  nodes(): Array<string> {
    const out: Array<string> = []
    for (const peer of this.peers.values()) if (peer.state === "up") out.push(peer.name)
    return out
  }

  busy(node: string): boolean {
    const conn = this.peers.get(node)?.conn
    return conn !== undefined && conn.session.busy
  }

  whenReady(node: string, callback: () => void): void {
    const conn = this.peers.get(node)?.conn
    if (conn === undefined) return callback()
    conn.session.whenReady(callback)
  }

  isConnected(node: string): boolean {
    return this.peers.get(node)?.state === "up"
  }

  /** The transport address of a node: a static route, else the registrar's answer. */
  private async resolve(node: string): Promise<string | undefined> {
    const route = this.options.routes?.[node]
    if (typeof route === "string") return route
    if (route !== undefined) return `${route.host}:${route.port}`
    if (this.options.registrar !== undefined) {
      const found = await Runtime.runPromise(this.runtime)(this.options.registrar.lookup(node))
      return found === undefined ? undefined : `${found.host}:${found.port}`
    }
    return undefined
  }

  private startConnect(peer: Peer): void {
    peer.state = "pending"
    const timeout = this.options.connectTimeoutMillis ?? 5000
    peer.timer = setTimeout(() => this.fail(peer, `no connection within ${timeout} ms`), timeout)
    if (!nodeNamePattern.test(peer.name)) {
      setImmediate(() => this.fail(peer, `"${peer.name}" is not a node name (name@host)`))
      return
    }
    const attempt = new Attempt()
    peer.outgoing = attempt
    this.resolve(peer.name).then(
      (address) => {
        if (peer.outgoing !== attempt || this.stopped) return
        if (address === undefined) return this.fail(peer, "no route to the node (add it to network.routes or use a registrar)")
        const accept = (info: Transport.PeerInfo): true | string => {
          if (info.name !== peer.name) return `expected ${peer.name}, this is ${info.name}`
          return peer.outgoing === attempt && !attempt.abandoned ? true : "superseded"
        }
        this.runHandshake(
          attempt,
          Transport.connect(this.transport, address, this.handshakeOptions(accept)),
          (result) => this.outgoingDone(peer, attempt, result)
        )
      },
      (error) => {
        if (peer.outgoing === attempt) this.fail(peer, `lookup failed: ${String(error)}`)
      }
    )
  }

  private outgoingDone(
    peer: Peer,
    attempt: Attempt,
    result: Either.Either<Transport.Session, Transport.TransportError | Transport.HandshakeRejected>
  ): void {
    if (result._tag === "Right") {
      const conn = new Conn(this, result.right)
      if (peer.outgoing !== attempt) return conn.destroy("superseded")
      return this.up(peer, conn)
    }
    if (peer.outgoing !== attempt) return
    peer.outgoing = undefined
    const error = result.left
    // Refused because the peer's own connection to us wins: wait for it.
    if (error._tag === "HandshakeRejected" && error.reason === "peer_rejected" && error.detail.includes("simultaneous")) return
    if (peer.incoming === undefined) this.fail(peer, error.message)
  }

  /**
   * The acceptor's decision on a peer's hello: one connection per pair of nodes, and when
   * both connect at once the connection started by the greater name wins (Erlang's rule).
   */
  private acceptIncoming(info: Transport.PeerInfo, attempt: Attempt): true | string {
    if (this.stopped) return "node stopping"
    if (info.name === this.kernel.name) return `the peer uses this node's own name ${info.name}`
    const peer = this.peer(info.name)
    // A new incarnation of a node whose old connection we have not yet seen close replaces
    // it, but only once it has proved the cookie (see incomingDone).
    if (peer.state === "up" && peer.creation === info.creation) return "already connected"
    if (peer.incoming !== undefined) return "duplicate connection"
    if (peer.outgoing !== undefined) {
      if (this.kernel.name > info.name) return "simultaneous connect: the other connection wins"
      peer.outgoing.abandon()
      peer.outgoing = undefined
    }
    if (peer.state === "idle") {
      peer.state = "pending"
      const timeout = this.options.connectTimeoutMillis ?? 5000
      peer.timer = setTimeout(() => this.fail(peer, "handshake timed out"), timeout)
    }
    peer.incoming = attempt
    return true
  }

  private incomingDone(attempt: Attempt, result: Either.Either<Transport.Session, Transport.HandshakeRejected>): void {
    if (result._tag === "Right") {
      const conn = new Conn(this, result.right)
      const peer = this.peers.get(conn.peerName)
      if (peer === undefined || peer.incoming !== attempt) return conn.destroy("superseded")
      if (peer.conn !== undefined) peer.conn.destroy("replaced by a new incarnation")
      return this.up(peer, conn)
    }
    const name = result.left.peer
    const peer = name === undefined ? undefined : this.peers.get(name)
    if (peer === undefined || peer.incoming !== attempt) return
    peer.incoming = undefined
    if (peer.outgoing === undefined) this.fail(peer, result.left.message)
  }

  /** A connection attempt failed: drop what was queued and fire links and monitors. */
  private fail(peer: Peer, reason: string): void {
    if (peer.state !== "pending") return
    if (peer.timer !== undefined) clearTimeout(peer.timer)
    peer.timer = undefined
    peer.state = "idle"
    peer.queue = []
    peer.outgoing?.abandon()
    peer.incoming?.abandon()
    peer.outgoing = peer.incoming = undefined
    for (const w of peer.waiters.splice(0)) w(reason)
    this.failSpawns(peer.name, reason)
    this.nodeDown(peer.name, reason)
  }

  private up(peer: Peer, conn: Conn): void {
    if (peer.timer !== undefined) clearTimeout(peer.timer)
    peer.timer = undefined
    peer.outgoing?.abandon()
    peer.incoming?.abandon()
    peer.outgoing = peer.incoming = undefined
    peer.state = "up"
    peer.conn = conn
    peer.creation = conn.peerCreation
    const queue = peer.queue
    peer.queue = []
    for (const frame of queue) conn.write(frame)
    for (const w of peer.waiters.splice(0)) w(undefined)
    this.kernel.nodeUp(peer.name)
  }

  onClose(conn: Conn, reason: string): void {
    const peer = this.peers.get(conn.peerName)
    if (peer === undefined || peer.conn !== conn) return
    peer.conn = undefined
    peer.state = "idle"
    this.failSpawns(peer.name, reason)
    if (!this.stopped) this.nodeDown(peer.name, reason)
  }

  // ---------------------------------------------------------------------------
  // Frames

  onFrame(conn: Conn, bytes: Uint8Array): void {
    let values: Array<any>
    const seen = undecodableCount()
    try {
      values = unpackMultiple(bytes)
    } catch (error) {
      this.log(`Dropped an undecodable frame from ${conn.peerName}: ${error instanceof Error ? error.message : String(error)}`)
      return
    }
    const suspect = undecodableCount() !== seen
    for (const value of values) {
      if (!Array.isArray(value)) {
        this.log(`Dropped an undecodable frame from ${conn.peerName}: not a frame`)
        continue
      }
      if (value.length > 0 && Array.isArray(value[0])) this.onFrames(conn, value, suspect)
      else this.onFrames(conn, [value], suspect)
    }
  }

  private onFrames(conn: Conn, frames: Array<any>, suspect: boolean): void {
    for (const frame of frames) {
      if (conn.closed) return
      try {
        if (suspect && (frame[0] === SEND || frame[0] === CALL)) {
          const bad = findUndecodable(frame[frame[0] === SEND ? 3 : 4])
          if (bad !== undefined) {
            if (frame[0] === SEND) {
              this.log(`Dropped a message from ${conn.peerName} holding a ${bad.type}: ${bad.reason}`)
              continue
            }
            frame[4] = bad
          }
        }
        this.dispatch(conn, frame)
      } catch (error) {
        this.log(`Dropped a bad frame from ${conn.peerName}: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
  }

  private dispatch(conn: Conn, f: Array<any>): void {
    const kernel = this.kernel
    switch (f[0]) {
      case SEND:
        if (f[3] instanceof Undecodable) {
          return this.log(`Dropped a message from ${conn.peerName} of type ${f[3].type}: ${f[3].reason}`)
        }
        kernel.send(undefined, toAddress(f[2]), f[3], priorities[f[4]] ?? "normal")
        return
      case CALL: {
        const from = toAddress(f[1]) as Pid | Alias
        const to = toAddress(f[2]) as Pid | Name
        const ref = toRef(f[3])
        const request = f[4]
        if (request instanceof Undecodable) {
          this.log(`Refused a call from ${conn.peerName} with a request of type ${request.type}: ${request.reason}`)
          return this.reply(ref, Exit.fail(new TypeNotRegistered({ type: `${request.type} (on ${kernel.name}: ${request.reason})` })))
        }
        const proc = kernel.lookup(to)
        if (proc === undefined || proc.status >= EXITING) {
          return this.reply(ref, Exit.fail(new ProcessUnknown({ target: to.toString() })))
        }
        const error = kernel.enqueue(proc, new CallEnvelope(request, makeFrom(from, ref)), "normal")
        if (error !== undefined) this.reply(ref, Exit.fail(error as MailboxFull))
        return
      }
      case REPLY:
        kernel.completeCall(toRef(f[1]), decodeExit(f[2]))
        return
      case LINK:
        if (!kernel.remoteLink(f[1], f[2])) this.enqueue(conn.peerName!, [EXIT, f[2], f[1], Reason.noproc, true])
        return
      case UNLINK:
        kernel.remoteUnlink(f[1], f[2])
        return
      case EXIT:
        kernel.remoteExitSignal(f[1], f[2], f[3], f[4] === true)
        return
      case MONITOR:
        if (!kernel.remoteMonitor(f[1], f[2], f[3])) this.down(f[1], f[3], f[2], Reason.noproc)
        return
      case DEMONITOR:
        kernel.remoteDemonitor(f[2], f[3])
        return
      case DOWN:
        kernel.remoteDown(f[1], f[2], f[3], f[4])
        return
      case SPAWN:
        return this.spawnHere(conn.peerName!, f[1], f[2], f[3], f[4])
      case APP_START:
        return this.startApplicationHere(conn.peerName!, f[1], f[2])
      case SPAWNED: {
        const pending = this.spawns.get(f[1])
        if (pending === undefined) return
        this.spawns.delete(f[1])
        if (f[2] === true && f[3] instanceof Pid) this.adoptSpawned(f[3], pending.link, pending.monitor)
        pending.resolve(
          f[2] === true
            ? Exit.succeed(f[3] as Pid)
            : Exit.fail(new SpawnRefused({ node: pending.node, behaviour: pending.behaviour, reason: String(f[3]) }))
        )
        return
      }
      case TICK:
        return
      default:
        this.log(`Dropped a frame of unknown kind ${String(f[0])} from ${conn.peerName}`)
    }
  }

  private spawnHere(
    node: string,
    id: number,
    name: string,
    args: unknown,
    options: { name?: string; link?: Pid; monitor?: [Pid, Reference] } | null
  ): void {
    const answer = (ok: boolean, value: unknown) => this.enqueue(node, [SPAWNED, id, ok, value], false)
    const behaviour = this.allow.get(name)
    if (behaviour === undefined) return answer(false, `${name} is not in this node's allowSpawn list`)
    const spawnOptions: SpawnOptions | undefined = typeof options?.name === "string" ? { name: options.name } : undefined
    const link = options?.link instanceof Pid ? options.link : undefined
    const monitor = Array.isArray(options?.monitor) ? options.monitor : undefined
    // `done` runs as init completes, before the new process handles any message: the link
    // and monitor exist before it can exit, and the answer leaves before any signal of it.
    this.kernel.spawn(behaviour, args, spawnOptions, this.runtime, undefined, undefined, (exit) => {
      if (exit._tag === "Failure") {
        const error = encodeExit(exit)[1]
        return answer(false, error instanceof Error ? error.message : String(error))
      }
      const pid = exit.value as Pid
      const linked = link !== undefined && this.kernel.remoteLink(link, pid)
      const monitored = monitor !== undefined && this.kernel.remoteMonitor(monitor[0], pid, monitor[1])
      answer(true, pid)
      if (link !== undefined && !linked) this.exit(pid, link, Reason.noproc, true)
      if (monitor !== undefined && !monitored) this.down(monitor[0], monitor[1], pid, Reason.noproc)
    })
  }

  /** The spawner's half of a link or monitor made by a remote spawn; undone if the spawner is gone. */
  private adoptSpawned(pid: Pid, link: Pid | undefined, monitor: readonly [Pid, Reference] | undefined): void {
    if (link !== undefined && !this.kernel.remoteLink(pid, link)) this.exit(link, pid, Reason.noproc, true)
    if (monitor !== undefined && !this.kernel.adoptRemoteMonitor(monitor[0], pid, monitor[1])) {
      this.demonitor(monitor[0], pid, monitor[1])
    }
  }

  private startApplicationHere(node: string, id: number, name: string): void {
    const answer = (ok: boolean, value: unknown) => this.enqueue(node, [SPAWNED, id, ok, value], false)
    const spec = this.options.allowApplications?.find((app) => app.name === name)
    if (spec === undefined) return answer(false, `${name} is not in this node's allowApplications list`)
    if (this.startApplication === undefined) return answer(false, "this node cannot start applications")
    this.startApplication(spec).then((error) => (error === undefined ? answer(true, null) : answer(false, error)))
  }

  /** Asks a node to start one of its allowed applications; resolves with undefined or why not. */
  startRemoteApplication(node: string, name: string): Promise<string | undefined> {
    const id = this.nextSpawn++
    return new Promise((resolve) => {
      this.spawns.set(id, {
        node,
        behaviour: name,
        resolve: (exit) =>
          resolve(exit._tag === "Success" ? undefined : exit.cause._tag === "Fail" ? (exit.cause.error as SpawnRefused).reason : "failed")
      })
      this.enqueue(node, [APP_START, id, name])
    })
  }

  private failSpawns(node: string, reason: string): void {
    for (const [id, pending] of Array.from(this.spawns)) {
      if (pending.node !== node) continue
      this.spawns.delete(id)
      pending.resolve(Exit.fail(new SpawnRefused({ node, behaviour: pending.behaviour, reason: `no connection (${reason})` })))
    }
  }

  // ---------------------------------------------------------------------------
  // Remote (called by the kernel)

  /** Encodes a frame now, so that the sender gets the error and nothing is sent. */
  /**
   * Checks a payload now, so that the sender gets the error and nothing is sent. The
   * frame itself is packed with the rest of its batch when the batch is written.
   */
  private check(node: string, frame: ReadonlyArray<unknown>, payload: unknown): unknown {
    const bad = unregisteredType(payload)
    if (bad !== undefined) return new TypeNotRegistered({ type: bad })
    if (bytesEstimate(payload) < 512) return frame
    // Large: packed now, on its own; the exact size is known and checked.
    let bytes: Buffer
    try {
      bytes = pack([frame])
    } catch (error) {
      return new TypeNotRegistered({ type: `a value its schema rejects (${error instanceof Error ? error.message : String(error)})` })
    }
    // The smaller of this node's limit and the connected peer's.
    const session = this.peers.get(node)?.conn?.session
    const limit = session === undefined ? this.maxMessage : Math.min(this.maxMessage, session.maxMessageSize - FRAME_SLACK)
    if (bytes.length > limit) return new MessageTooLarge({ size: bytes.length, limit })
    return bytes
  }

  send(from: Pid | undefined, to: Pid | Alias | Name, message: unknown, priority: Priority): unknown | undefined {
    const frame = this.check(to.node, [SEND, from === undefined ? null : fromAddress(from), fromAddress(to), message, priorityCode(priority)], message)
    if (frame instanceof TypeNotRegistered || frame instanceof MessageTooLarge) return frame
    this.enqueue(to.node, frame)
    return undefined
  }

  call(from: Pid | Alias, to: Pid | Name, ref: Reference, request: unknown): unknown | undefined {
    const frame = this.check(to.node, [CALL, fromAddress(from), fromAddress(to), [ref.node, ref.id, ref.creation], request], request)
    if (frame instanceof TypeNotRegistered || frame instanceof MessageTooLarge) return frame
    this.enqueue(to.node, frame)
    return undefined
  }

  reply(ref: Reference, exit: Exit.Exit<unknown, unknown>): void {
    // Packed with its batch; a reply whose schema rejects it is replaced there (see Conn.sendRun).
    this.enqueue(ref.node, [REPLY, [ref.node, ref.id, ref.creation], encodeExit(exit)], false)
  }

  link(local: Pid, remote: Pid): void {
    this.enqueue(remote.node, [LINK, local, remote])
  }

  unlink(local: Pid, remote: Pid): void {
    this.enqueue(remote.node, [UNLINK, local, remote], false)
  }

  exit(from: Pid, to: Pid, reason: ExitReason, viaLink: boolean): void {
    const wire = encodes(reason) ? reason : Reason.error(Reason.format(reason))
    this.enqueue(to.node, [EXIT, from, to, wire, viaLink], !viaLink)
  }

  monitor(watcher: Pid, target: Pid | Name, ref: Reference): void {
    this.enqueue(target.node, [MONITOR, watcher, target, ref])
  }

  demonitor(watcher: Pid, target: Pid | Name, ref: Reference): void {
    this.enqueue(target.node, [DEMONITOR, watcher, target, ref], false)
  }

  down(watcher: Pid, ref: Reference, target: Pid | Name, reason: ExitReason): void {
    const wire = encodes(reason) ? reason : Reason.error(Reason.format(reason))
    this.enqueue(watcher.node, [DOWN, watcher, ref, target, wire], false)
  }

  spawn(
    node: string,
    behaviour: string,
    args: unknown,
    options: SpawnOptions & { readonly link?: Pid | undefined; readonly monitor?: readonly [Pid, Reference] | undefined }
  ): Promise<Exit.Exit<Pid, unknown>> {
    const id = this.nextSpawn++
    const wire: Record<string, unknown> = {}
    if (options.name !== undefined) wire.name = options.name
    if (options.link !== undefined) wire.link = options.link
    if (options.monitor !== undefined) wire.monitor = options.monitor
    const frame = this.check(node, [SPAWN, id, behaviour, args, wire], args)
    if (frame instanceof TypeNotRegistered || frame instanceof MessageTooLarge) return Promise.resolve(Exit.fail(frame))
    return new Promise((resolve) => {
      this.spawns.set(id, { node, behaviour, resolve, link: options.link, monitor: options.monitor })
      this.enqueue(node, frame)
    })
  }
}
