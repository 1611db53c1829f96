/**
 * The peers of a node: one connection per pair of nodes, opened on first use or by
 * `connect`, with Erlang's tie-break when both nodes connect at once (the connection
 * started by the greater name wins), the handshake of each attempt, frames queued while a
 * connection is pending, the net tick, and the up/down events links and monitors hang on.
 *
 * Hot path: `enqueue` for a peer that is up (every outgoing frame); the rest is set-up.
 *
 * @internal
 */
import type { Either, Fiber, Scope } from "effect"
import { Duration, Effect, FiberId, Runtime } from "effect"
import { sniff } from "../../../Rpc/internal/controlSocket.js"
import * as Transport from "../../../Transport/index.js"
import { Conn } from "./conn.js"
import type { Distribution } from "./connection.js"
import type { ConnectionInfo } from "../../NetworkOptions.js"
import type { Frame } from "./frames.js"
import { TICK } from "./frames.js"

const nodeNamePattern = /^[A-Za-z0-9_.-]+@[A-Za-z0-9_.:-]+$/

/** A handshake in progress, outgoing or incoming; superseded attempts are abandoned. */
class Attempt {
  abandoned = false
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined = undefined
  abandon(): void {
    this.abandoned = true
    if (this.fiber !== undefined) this.fiber.unsafeInterruptAsFork(FiberId.none)
  }
}

/**
 * Traffic with one peer over every connection this node has had with it (for
 * `rain/Telemetry`): closed connections' figures are added up here, the live one's read
 * when asked.
 */
export interface PeerTraffic {
  framesIn: number
  framesOut: number
  bytesIn: number
  bytesOut: number
  /** Connections that came up with this peer; more than one means it reconnected. */
  connects: number
}

/** What this node knows about another node. */
class Peer {
  state: "idle" | "pending" | "up" = "idle"
  conn: Conn | undefined = undefined
  outgoing: Attempt | undefined = undefined
  incoming: Attempt | undefined = undefined
  queue: Array<Frame | Buffer> = []
  creation = 0
  /** Cancels the connect timeout of a pending peer. */
  cancelTimer: (() => void) | undefined = undefined
  waiters: Array<(error: string | undefined) => void> = []
  constructor(readonly name: string) {}
}

/** The peers table of one node's distribution. */
export class Peers {
  private readonly peers = new Map<string, Peer>()
  private readonly handshakes = new Set<Attempt>()
  private stopped = false
  private cancelTicker: (() => void) | undefined = undefined
  /** Called when a connection is lost or cannot be made (for `node.monitorNode`). */
  readonly downListeners = new Set<(node: string, reason: string) => void>()
  /** Traffic of the closed connections, by peer (see `traffic`). */
  private readonly closedTraffic = new Map<string, PeerTraffic>()
  private readonly counted = new WeakSet<Conn>()
  /** Handshakes (either direction) that failed, by `HandshakeRejected` reason (`transport` for a transport error). */
  readonly handshakeFailures = new Map<string, number>()

  constructor(private readonly dist: Distribution) {}

  /** The connection to `node` when it is up. */
  conn(node: string): Conn | undefined {
    return this.peers.get(node)?.conn
  }

  private peer(node: string): Peer {
    let peer = this.peers.get(node)
    if (peer === undefined) this.peers.set(node, (peer = new Peer(node)))
    return peer
  }

  /** Queues a frame for a node, connecting first if needed (`connect`). Hot path. */
  enqueue(node: string, frame: Frame | Buffer, connect = true): void {
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
    if (node === this.dist.local.name) return Promise.resolve(undefined)
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

  /** Every node this table holds a record of (for tests: unproved hellos must leave none). */
  known(): Array<string> {
    return Array.from(this.peers.keys())
  }

  /** The connections that are up, as `node.connections` reports them. */
  connections(): Array<ConnectionInfo> {
    const out: Array<ConnectionInfo> = []
    for (const peer of this.peers.values()) {
      const conn = peer.conn
      if (peer.state !== "up" || conn === undefined) continue
      const session = conn.session
      out.push({
        node: peer.name,
        creation: conn.peerCreation,
        address: session.remoteAddress,
        dialled: session.initiator ? "this node" : "the peer",
        since: conn.since,
        framesIn: conn.framesIn,
        framesOut: conn.framesOut,
        bytesIn: session.bytesIn,
        bytesOut: session.bytesOut,
        compression: session.compression
      })
    }
    return out
  }

  /** Traffic by peer over every connection so far, the live ones included. */
  traffic(): Map<string, PeerTraffic> {
    const out = new Map<string, PeerTraffic>()
    for (const [name, t] of this.closedTraffic) out.set(name, { ...t })
    for (const peer of this.peers.values()) {
      const conn = peer.conn
      if (conn === undefined || this.counted.has(conn)) continue
      const t = out.get(peer.name) ?? { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, connects: 0 }
      t.framesIn += conn.framesIn
      t.framesOut += conn.framesOut
      t.bytesIn += conn.session.bytesIn
      t.bytesOut += conn.session.bytesOut
      out.set(peer.name, t)
    }
    return out
  }

  private totalsOf(name: string): PeerTraffic {
    let t = this.closedTraffic.get(name)
    if (t === undefined) {
      t = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, connects: 0 }
      this.closedTraffic.set(name, t)
    }
    return t
  }

  isConnected(node: string): boolean {
    return this.peers.get(node)?.state === "up"
  }

  // ---------------------------------------------------------------------------
  // Listening, ticking, stopping

  /** Starts listening on the transport and ticking; the scope closes the listener. */
  listen(): Effect.Effect<Transport.Listener, Transport.TransportError, Scope.Scope> {
    return Effect.tap(
      this.dist.transport.listen((accepted) => {
        if (this.stopped) return accepted.close(new Error("node stopping"))
        // A control client (rain/Rpc Control) and a node share the listener: the first bytes tell them apart.
        sniff(accepted, (duplex) => {
          if (this.stopped) return duplex.close(new Error("node stopping"))
          const attempt = new Attempt()
          this.runHandshake(
            attempt,
            Transport.handshake(duplex, "acceptor", this.handshakeOptions((info) => this.acceptIncoming(info, attempt))),
            (result) => this.incomingDone(attempt, result)
          )
        }, (duplex) => {
          const control = this.dist.control
          if (this.stopped || control === undefined) return duplex.close(new Error("no control plane"))
          control(duplex)
        }, (why) => this.dist.log(`refused a connection: ${why}`))
      }),
      () => Effect.sync(() => this.tick())
    )
  }

  /**
   * Like Erlang's net_ticktime, on the node's Clock: every quarter of the tick time, an
   * idle connection sends a tick and one that received nothing for the whole tick time is
   * closed (links and monitors across it fire).
   */
  private tick(): void {
    const tick = this.dist.tickMillis
    this.cancelTicker = this.dist.local.startTimer(Math.max(10, Math.floor(tick / 4)), () => {
      if (this.stopped) return
      const now = this.dist.local.now()
      for (const peer of this.peers.values()) {
        const conn = peer.conn
        if (peer.state !== "up" || conn === undefined) continue
        if (now - conn.lastReceived > tick) {
          this.dist.log(`Connection to ${peer.name} lost: nothing received for ${tick} ms`)
          conn.destroy("net tick timeout")
        } else if (now - conn.lastSent >= tick / 4) conn.write([TICK])
      }
      this.tick()
    })
  }

  /** Closes every connection (after sending what is queued) and the handshakes in progress. */
  stop(): void {
    this.stopped = true
    this.cancelTicker?.()
    for (const attempt of this.handshakes) attempt.abandon()
    for (const peer of this.peers.values()) {
      peer.cancelTimer?.()
      peer.conn?.end()
    }
  }

  // ---------------------------------------------------------------------------
  // Handshakes

  /** The handshake options of this node, with the accept hook of one attempt. */
  private handshakeOptions(
    accept: (peer: Transport.PeerInfo) => true | Transport.HandshakeRefusal
  ): Transport.HandshakeOptions {
    const { local, options } = this.dist
    const compression = options.compression
    return {
      name: local.name,
      cookie: options.cookie,
      creation: local.creation,
      compression: compression !== undefined && compression !== false,
      ...(typeof compression === "object" && compression.threshold !== undefined
        ? { compressThreshold: compression.threshold }
        : {}),
      maxMessageSize: this.dist.maxFrame,
      handshakeTimeout: Duration.millis(this.dist.connectTimeoutMillis),
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
    const fiber = Runtime.runFork(this.dist.runtime)(Effect.either(effect))
    attempt.fiber = fiber
    fiber.addObserver((exit) => {
      this.handshakes.delete(attempt)
      attempt.fiber = undefined
      if (exit._tag === "Success" && exit.value._tag === "Left") {
        const error = exit.value.left as { readonly _tag?: string; readonly reason?: string }
        // A lost tie-break (both nodes dialled at once) is how the protocol works, not a failure.
        const reason = error._tag === "HandshakeRejected" ? (error.reason ?? "unknown") : "transport"
        if (reason !== "simultaneous") this.handshakeFailures.set(reason, (this.handshakeFailures.get(reason) ?? 0) + 1)
      }
      if (exit._tag === "Success" && !this.stopped) onDone(exit.value)
      else if (exit._tag === "Success" && exit.value._tag === "Right") Effect.runSync(exit.value.right.close)
    })
  }

  /** Starts the connect timeout of a peer that becomes pending. */
  private pending(peer: Peer, reason: string): void {
    peer.state = "pending"
    peer.cancelTimer = this.dist.local.startTimer(this.dist.connectTimeoutMillis, () => {
      peer.cancelTimer = undefined
      this.fail(peer, reason)
    })
  }

  /** The transport address of a node: a static route, else the registrar's answer. */
  private async resolve(node: string): Promise<string | undefined> {
    const { options, runtime } = this.dist
    const route = options.routes?.[node]
    if (typeof route === "string") return route
    if (route !== undefined) return `${route.host}:${route.port}`
    if (options.registrar !== undefined) {
      const found = await Runtime.runPromise(runtime)(options.registrar.lookup(node))
      return found === undefined ? undefined : `${found.host}:${found.port}`
    }
    return undefined
  }

  private startConnect(peer: Peer): void {
    const full = this.full()
    this.pending(peer, `no connection within ${this.dist.connectTimeoutMillis} ms`)
    if (full !== undefined) {
      this.dist.log(`Not connecting to ${peer.name}: ${full.detail}`)
      setImmediate(() => this.fail(peer, `${full.reason}: ${full.detail}`))
      return
    }
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
        const accept = (info: Transport.PeerInfo): true | Transport.HandshakeRefusal => {
          if (info.name !== peer.name) return { reason: "duplicate", detail: `expected ${peer.name}, this is ${info.name}` }
          return peer.outgoing === attempt && !attempt.abandoned ? true : { reason: "simultaneous", detail: "superseded" }
        }
        this.runHandshake(
          attempt,
          Transport.connect(this.dist.transport, address, this.handshakeOptions(accept)),
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
      const conn = new Conn(this.dist, result.right)
      if (peer.outgoing !== attempt) return conn.destroy("superseded")
      return this.up(peer, conn)
    }
    if (peer.outgoing !== attempt) return
    peer.outgoing = undefined
    const error = result.left
    // Refused because the peer's own connection to us wins: wait for it.
    if (error._tag === "HandshakeRejected" && error.peerReason === "simultaneous") return
    if (peer.incoming === undefined) this.fail(peer, error.message)
  }

  /** Connections up, plus handshakes this node has agreed to that may bring one up. */
  private occupied(): number {
    let n = 0
    for (const peer of this.peers.values()) {
      if (peer.state === "up" || peer.outgoing !== undefined || peer.incoming !== undefined) n++
    }
    return n
  }

  /** Why one more node cannot be connected (`network.maxNodes`), or undefined. */
  private full(): Transport.HandshakeRefusal | undefined {
    const max = this.dist.maxNodes
    if (max === Infinity || this.occupied() < max) return undefined
    return { reason: "too_many_nodes", detail: `${this.dist.local.name} keeps at most ${max} connected nodes (network.maxNodes)` }
  }

  /**
   * The acceptor's decision on a peer's hello, before the peer has proved the cookie: so
   * nothing here may cost much or last (a bogus hello must be cheap). One connection per
   * pair of nodes; when both connect at once, the connection started by the greater name
   * wins (Erlang's rule).
   */
  private acceptIncoming(info: Transport.PeerInfo, attempt: Attempt): true | Transport.HandshakeRefusal {
    if (this.stopped) return { reason: "duplicate", detail: "node stopping" }
    if (info.name === this.dist.local.name) {
      return { reason: "duplicate", detail: `the peer uses this node's own name ${info.name}` }
    }
    const peer = this.peers.get(info.name)
    if (peer !== undefined && peer.incoming !== undefined) {
      return { reason: "duplicate", detail: "a handshake with this node is already under way" }
    }
    if (peer?.state === "up") {
      // The peer dials although this node holds a connection to it: the peer has seen that
      // connection end (a disconnect, a restart) and this node has not yet. As Erlang's
      // `alive` handshake status: the new connection replaces the stale one, once it has
      // proved the cookie (see incomingDone).
      peer.incoming = attempt
      return true
    }
    if (peer?.outgoing !== undefined) {
      if (this.dist.local.name > info.name) {
        return { reason: "simultaneous", detail: "both nodes connected at once: the other connection wins" }
      }
      peer.outgoing.abandon()
      peer.outgoing = undefined
      peer.incoming = attempt
      return true
    }
    const full = this.full()
    if (full !== undefined) return full
    // Unproved: tracked apart from the peers, so that a failed attempt leaves nothing behind.
    const fresh = peer ?? new Peer(info.name)
    fresh.incoming = attempt
    if (peer === undefined) this.peers.set(info.name, fresh)
    if (fresh.state === "idle") this.pending(fresh, "handshake timed out")
    return true
  }

  private incomingDone(attempt: Attempt, result: Either.Either<Transport.Session, Transport.HandshakeRejected>): void {
    if (result._tag === "Right") {
      const conn = new Conn(this.dist, result.right)
      const peer = this.peers.get(conn.peerName)
      if (peer === undefined || peer.incoming !== attempt) return conn.destroy("superseded")
      // The stale connection goes down first: links and monitors across it fire.
      if (peer.conn !== undefined) peer.conn.destroy("replaced by a new connection from the peer")
      return this.up(peer, conn)
    }
    const name = result.left.peer
    const peer = name === undefined ? undefined : this.peers.get(name)
    if (peer === undefined || peer.incoming !== attempt) return
    peer.incoming = undefined
    if (peer.outgoing !== undefined || peer.state === "up") return
    if (peer.queue.length === 0 && peer.waiters.length === 0) {
      // Only the unproved attempt made this peer pending: nothing was sent to it and no one
      // waits, so there is nothing to fail and no link or monitor to fire. Forget it.
      peer.cancelTimer?.()
      peer.cancelTimer = undefined
      peer.state = "idle"
      if (peer.conn === undefined) this.peers.delete(peer.name)
      return
    }
    this.fail(peer, result.left.message)
  }

  // ---------------------------------------------------------------------------
  // Up and down

  /** A connection attempt failed: drop what was queued and fire links and monitors. */
  private fail(peer: Peer, reason: string): void {
    if (peer.state !== "pending") return
    peer.cancelTimer?.()
    peer.cancelTimer = undefined
    peer.state = "idle"
    peer.queue = []
    peer.outgoing?.abandon()
    peer.incoming?.abandon()
    peer.outgoing = peer.incoming = undefined
    for (const w of peer.waiters.splice(0)) w(reason)
    this.dist.spawns.fail(peer.name, reason)
    this.down(peer.name, reason)
  }

  private up(peer: Peer, conn: Conn): void {
    peer.cancelTimer?.()
    peer.cancelTimer = undefined
    peer.outgoing?.abandon()
    peer.incoming?.abandon()
    peer.outgoing = peer.incoming = undefined
    peer.state = "up"
    peer.conn = conn
    peer.creation = conn.peerCreation
    this.totalsOf(peer.name).connects++
    const queue = peer.queue
    peer.queue = []
    for (const frame of queue) conn.write(frame)
    for (const w of peer.waiters.splice(0)) w(undefined)
    this.dist.local.nodeUp(peer.name)
  }

  /** A connection closed (by either side, or lost). */
  closed(conn: Conn, reason: string): void {
    if (!this.counted.has(conn)) {
      this.counted.add(conn)
      const t = this.totalsOf(conn.peerName)
      t.framesIn += conn.framesIn
      t.framesOut += conn.framesOut
      t.bytesIn += conn.session.bytesIn
      t.bytesOut += conn.session.bytesOut
    }
    const peer = this.peers.get(conn.peerName)
    if (peer === undefined || peer.conn !== conn) return
    peer.conn = undefined
    peer.state = "idle"
    this.dist.spawns.fail(peer.name, reason)
    if (!this.stopped) this.down(peer.name, reason)
  }

  private down(node: string, reason: string): void {
    this.dist.local.nodeDown(node, reason)
    for (const l of Array.from(this.downListeners)) l(node, reason)
  }
}
