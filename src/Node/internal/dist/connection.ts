/**
 * Distribution: one connection per pair of nodes carrying length-prefixed msgpack
 * frames, with coalesced writes, an HMAC cookie handshake and Erlang's tie-break for
 * simultaneous connects. Implements the kernel's `Remote` seam.
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
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import * as net from "node:net"
import * as tls from "node:tls"
import { Effect, Exit, Runtime } from "effect"
import type { Behaviour, Priority, SpawnOptions } from "../../../Process/Behaviour.js"
import { MailboxFull, MessageTooLarge, ProcessUnknown } from "../../../Process/errors.js"
import * as Reason from "../../../Process/ExitReason.js"
import type { ExitReason } from "../../../Process/ExitReason.js"
import { From } from "../../../Process/Message.js"
import { Alias, Name, Pid, Reference, unsafeMake } from "../../../Process/Pid.js"
import type { Registrar, Route } from "../../../Registry/Registrar.js"
import { spawnEffect } from "../context.js"
import type { Kernel } from "../kernel.js"
import { EXITING } from "../kernel.js"
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
} from "./codec.js"
import type { WireClass } from "./codec.js"
import { register } from "./codec.js"
import { SpawnRefused } from "./errors.js"

/** Distribution settings of a node (`NodeOptions.network`). */
export interface NetworkOptions {
  /** Shared secret; peers prove they know it with an HMAC challenge, it never crosses the wire. */
  readonly cookie: string
  /** Listen address (default "127.0.0.1"). */
  readonly host?: string | undefined
  /** Listen port (default 0: any free port). */
  readonly port?: number | undefined
  /** TLS instead of plain TCP. */
  readonly tls?: {
    readonly cert: string | Buffer
    readonly key: string | Buffer
    readonly ca?: string | Buffer | undefined
    readonly requireClientCert?: boolean | undefined
  } | undefined
  /** Largest frame in bytes, both ways (default: the node's `process.maxMessageSize`, 64 MiB). */
  readonly maxMessageSize?: number | undefined
  /** Static routes: node name to "host:port" or { host, port }. */
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

const VERSION = 1

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

const hmac = (cookie: string, challenge: string): Buffer => createHmac("sha256", cookie).update(challenge).digest()

const nodeNamePattern = /^[A-Za-z0-9_.-]+@[A-Za-z0-9_.:-]+$/

type Socket = net.Socket | tls.TLSSocket

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

/** One socket to a peer: framing, handshake, batched writes. */
class Conn {
  private chunks: Array<Buffer> = []
  private have = 0
  lastReceived = Date.now()
  lastSent = Date.now()
  private out: Array<unknown> = []
  private flushing = false
  closed = false
  /** Handshake step: "hello" (acceptor waits), "challenge" (initiator waits), "proof" (acceptor waits), "up". */
  step: "hello" | "challenge" | "proof" | "up"
  peerName: string | undefined
  peerCreation = 0
  challenge = ""
  abandoned = false

  constructor(
    readonly dist: Distribution,
    readonly socket: Socket,
    readonly initiator: boolean
  ) {
    this.step = initiator ? "challenge" : "hello"
    socket.setNoDelay(true)
    socket.on("data", (chunk: Buffer) => this.onData(chunk))
    socket.on("error", (error) => this.close(`socket error: ${error.message}`))
    socket.on("close", () => this.close("connection closed"))
  }

  /**
   * Queues a frame; the queue is written once the current synchronous run (a kernel
   * drain, a fiber's burst of sends) ends, so that everything it sent goes in one write.
   * A microtask rather than setImmediate: a long send loop that yields only to the
   * Effect scheduler still gets its batches onto the wire while it runs.
   */
  write(frame: unknown): void {
    if (this.closed) return
    this.out.push(frame)
    if (!this.flushing) {
      this.flushing = true
      queueMicrotask(this.flush)
    }
  }

  writeNow(frame: unknown): void {
    if (this.closed) return
    this.out.push(frame)
    this.flush()
  }

  readonly flush = (): void => {
    this.lastSent = Date.now()
    this.flushing = false
    const frames = this.out
    if (frames.length === 0 || this.closed) return
    this.out = []
    // A write is a sequence of msgpack values: runs of small frames packed together as
    // one array (one pack call), and large frames packed at send time on their own
    // (msgpackr copies big binaries slowly inside a growing batch).
    const segments: Array<Buffer> = []
    let run: Array<unknown> = []
    const endRun = () => {
      if (run.length === 0) return
      const frames = run
      run = []
      try {
        segments.push(pack(frames))
      } catch {
        // a value that does not encode: find it, one frame at a time
        for (const frame of frames) {
          try {
            segments.push(pack([frame]))
          } catch (error) {
            this.dist.log(`Dropped a message to ${this.peerName} that does not encode: ${error instanceof Error ? error.message : String(error)}`)
          }
        }
      }
    }
    for (const frame of frames) {
      if (frame instanceof Buffer) {
        endRun()
        segments.push(frame)
      } else run.push(frame)
    }
    endRun()
    let size = 0
    let from = 0
    for (let i = 0; i < segments.length; i++) {
      const length = segments[i]!.length
      if (size > 0 && size + length > this.dist.maxFrame) {
        this.writeFrame(segments.slice(from, i), size)
        from = i
        size = 0
      }
      size += length
    }
    if (size > 0) this.writeFrame(segments.slice(from), size)
  }

  private writeFrame(segments: Array<Buffer>, size: number): void {
    const head = Buffer.allocUnsafe(4)
    head.writeUInt32BE(size, 0)
    if (size < 65536) {
      this.socket.write(Buffer.concat([head, ...segments], 4 + size))
    } else {
      this.socket.cork()
      this.socket.write(head)
      for (const segment of segments) this.socket.write(segment)
      this.socket.uncork()
    }
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk)
    this.have += chunk.length
    this.lastReceived = Date.now()
    while (!this.closed && this.have >= 4) {
      let head = this.chunks[0]!
      if (head.length < 4) {
        head = Buffer.concat(this.chunks, this.have)
        this.chunks = [head]
      }
      const length = head.readUInt32BE(0)
      // Before the handshake a peer is unknown: only small frames.
      if (length > (this.step === "up" ? this.dist.maxFrame : 65536)) {
        this.dist.log(`Closing the connection to ${this.peerName ?? "a peer"}: a frame of ${length} bytes is over the limit ${this.dist.maxFrame}`)
        this.destroy("frame too large")
        return
      }
      if (this.have < 4 + length) return
      if (head.length < 4 + length) {
        head = Buffer.concat(this.chunks, this.have)
        this.chunks = [head]
      }
      const frame = head.subarray(4, 4 + length)
      this.have -= 4 + length
      if (head.length > 4 + length) this.chunks[0] = head.subarray(4 + length)
      else this.chunks.shift()
      this.dist.onFrame(this, frame)
    }
  }

  /** Sends what is queued, then closes. */
  end(): void {
    if (this.closed) return
    this.flush()
    this.socket.end()
  }

  destroy(reason: string): void {
    this.flush()
    this.socket.destroy()
    this.close(reason)
  }

  close(reason: string): void {
    if (this.closed) return
    this.closed = true
    this.out = []
    this.dist.onClose(this, reason)
  }
}

/** What this node knows about another node. */
class Peer {
  state: "idle" | "pending" | "up" = "idle"
  conn: Conn | undefined = undefined
  outgoing: Conn | undefined = undefined
  incoming: Conn | undefined = undefined
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
  private server: net.Server | undefined = undefined
  private readonly accepted = new Set<Conn>()
  private readonly allow = new Map<string, Behaviour<any, any, any, any, any, any>>()
  private readonly spawns = new Map<number, { node: string; behaviour: string; resolve: (exit: Exit.Exit<Pid, unknown>) => void }>()
  private nextSpawn = 1
  private stopped = false
  port = 0
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
    this.maxFrame = this.maxMessage + 4096
    for (const b of options.allowSpawn ?? []) this.allow.set(b.name, b as Behaviour<any, any, any, any, any, any>)
    if (options.messages !== undefined) register(...options.messages)
  }

  log(message: string): void {
    Runtime.runFork(this.runtime)(Effect.logWarning(message).pipe(Effect.annotateLogs({ node: this.kernel.name })))
  }

  /** Starts listening; resolves with the port. */
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

  listen(): Promise<number> {
    this.startTicker()
    const onSocket = (socket: Socket) => {
      if (this.stopped) return socket.destroy()
      const conn = new Conn(this, socket, false)
      this.accepted.add(conn)
    }
    const t = this.options.tls
    const server = t === undefined
      ? net.createServer({ noDelay: true }, onSocket)
      : tls.createServer({ cert: t.cert, key: t.key, ca: t.ca, requestCert: t.requireClientCert ?? false, rejectUnauthorized: t.requireClientCert ?? false }, onSocket)
    this.server = server
    server.on("error", (error) => this.log(`Listener error: ${error.message}`))
    return new Promise((resolve, reject) => {
      server.once("error", reject)
      server.listen(this.options.port ?? 0, this.options.host ?? "127.0.0.1", () => {
        server.off("error", reject)
        this.port = (server.address() as net.AddressInfo).port
        resolve(this.port)
      })
    })
  }

  /** Closes every connection (after sending what is queued) and the listener. */
  stop(): Promise<void> {
    this.stopped = true
    if (this.ticker !== undefined) clearInterval(this.ticker)
    for (const peer of this.peers.values()) {
      if (peer.timer !== undefined) clearTimeout(peer.timer)
      peer.conn?.end()
      peer.outgoing?.destroy("node stopping")
      peer.incoming?.destroy("node stopping")
    }
    for (const conn of this.accepted) conn.destroy("node stopping")
    return new Promise((resolve) => {
      if (this.server === undefined) return resolve()
      this.server.close(() => resolve())
      setTimeout(resolve, 200).unref()
    })
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

  isConnected(node: string): boolean {
    return this.peers.get(node)?.state === "up"
  }

  private async resolve(node: string): Promise<Route | undefined> {
    const route = this.options.routes?.[node]
    if (typeof route === "string") {
      const i = route.lastIndexOf(":")
      return { host: route.slice(0, i), port: Number(route.slice(i + 1)) }
    }
    if (route !== undefined) return route
    if (this.options.registrar !== undefined) return this.options.registrar.lookup(node)
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
    this.resolve(peer.name).then(
      (route) => {
        if (peer.state !== "pending" || this.stopped) return
        if (route === undefined) return this.fail(peer, "no route to the node (add it to network.routes or use a registrar)")
        const t = this.options.tls
        const socket = t === undefined
          ? net.connect({ host: route.host, port: route.port, noDelay: true })
          : tls.connect({ host: route.host, port: route.port, cert: t.cert, key: t.key, ca: t.ca, rejectUnauthorized: t.ca !== undefined, checkServerIdentity: () => undefined })
        const conn = new Conn(this, socket, true)
        conn.peerName = peer.name
        peer.outgoing = conn
        socket.once(t === undefined ? "connect" : "secureConnect", () => {
          conn.challenge = randomBytes(16).toString("hex")
          conn.writeNow(["hello", VERSION, this.kernel.name, this.kernel.creation, conn.challenge])
        })
      },
      (error) => this.fail(peer, `lookup failed: ${String(error)}`)
    )
  }

  /** A connection attempt failed: drop what was queued and fire links and monitors. */
  private fail(peer: Peer, reason: string): void {
    if (peer.state !== "pending") return
    if (peer.timer !== undefined) clearTimeout(peer.timer)
    peer.timer = undefined
    peer.state = "idle"
    peer.queue = []
    const out = peer.outgoing
    const inc = peer.incoming
    peer.outgoing = peer.incoming = undefined
    out?.destroy(reason)
    inc?.destroy(reason)
    for (const w of peer.waiters.splice(0)) w(reason)
    this.failSpawns(peer.name, reason)
    this.nodeDown(peer.name, reason)
  }

  private up(peer: Peer, conn: Conn): void {
    if (peer.timer !== undefined) clearTimeout(peer.timer)
    peer.timer = undefined
    if (peer.outgoing !== undefined && peer.outgoing !== conn) {
      peer.outgoing.abandoned = true
      peer.outgoing.destroy("another connection won")
    }
    if (peer.incoming !== undefined && peer.incoming !== conn) {
      peer.incoming.abandoned = true
      peer.incoming.destroy("another connection won")
    }
    peer.outgoing = peer.incoming = undefined
    peer.state = "up"
    peer.conn = conn
    peer.creation = conn.peerCreation
    conn.step = "up"
    const queue = peer.queue
    peer.queue = []
    for (const frame of queue) conn.write(frame)
    for (const w of peer.waiters.splice(0)) w(undefined)
    this.kernel.nodeUp(peer.name)
  }

  onClose(conn: Conn, reason: string): void {
    this.accepted.delete(conn)
    const name = conn.peerName
    if (name === undefined) return
    const peer = this.peers.get(name)
    if (peer === undefined) return
    if (peer.conn === conn) {
      peer.conn = undefined
      peer.state = "idle"
      this.failSpawns(name, reason)
      if (!this.stopped) this.nodeDown(name, reason)
      return
    }
    if (conn.abandoned) return
    if (peer.outgoing === conn) {
      peer.outgoing = undefined
      // Refused because the peer's own connection to us wins: wait for it.
      if (reason === "simultaneous") return
      if (peer.incoming === undefined) this.fail(peer, reason)
    } else if (peer.incoming === conn) {
      peer.incoming = undefined
      if (peer.outgoing === undefined && peer.queue.length > 0) this.fail(peer, reason)
      else if (peer.outgoing === undefined && peer.state === "pending") this.fail(peer, reason)
    }
  }

  // ---------------------------------------------------------------------------
  // Frames

  onFrame(conn: Conn, bytes: Buffer): void {
    let values: Array<any>
    const seen = undecodableCount()
    try {
      values = unpackMultiple(bytes)
    } catch (error) {
      this.log(`Dropped an undecodable frame from ${conn.peerName ?? "a peer"}: ${error instanceof Error ? error.message : String(error)}`)
      return
    }
    const suspect = undecodableCount() !== seen
    for (const value of values) {
      if (!Array.isArray(value)) {
        this.log(`Dropped an undecodable frame from ${conn.peerName ?? "a peer"}: not a frame`)
        continue
      }
      if (value.length > 0 && Array.isArray(value[0])) this.onFrames(conn, value, suspect)
      else this.onFrames(conn, [value], suspect)
    }
  }

  private onFrames(conn: Conn, frames: Array<any>, suspect: boolean): void {
    for (const frame of frames) {
      if (conn.closed) return
      if (conn.step !== "up") {
        this.handshake(conn, frame)
        continue
      }
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

  private handshake(conn: Conn, frame: Array<any>): void {
    if (!Array.isArray(frame)) return conn.destroy("malformed handshake")
    const cookie = this.options.cookie
    switch (conn.step) {
      case "hello": {
        const [tag, version, name, creation, challenge] = frame
        if (tag !== "hello" || typeof name !== "string" || typeof challenge !== "string" || typeof creation !== "number") {
          this.log("Closing an incoming connection: malformed handshake")
          return conn.destroy("malformed handshake")
        }
        if (version !== VERSION) return this.refuse(conn, `protocol version ${version} is not ${VERSION}`)
        if (!nodeNamePattern.test(name) || name === this.kernel.name) return this.refuse(conn, `bad node name ${name}`)
        const peer = this.peer(name)
        if (peer.state === "up") {
          if (peer.creation === creation) return this.refuse(conn, "already connected")
          // A new incarnation of a node whose old connection we have not yet seen close.
          peer.conn!.destroy("replaced by a new incarnation")
        }
        if (peer.incoming !== undefined) return this.refuse(conn, "duplicate")
        if (peer.outgoing !== undefined) {
          // Both sides connect at once: the connection started by the greater name wins.
          if (this.kernel.name > name) return this.refuse(conn, "simultaneous")
          peer.outgoing.abandoned = true
          peer.outgoing.destroy("simultaneous")
          peer.outgoing = undefined
        }
        if (peer.state === "idle") {
          peer.state = "pending"
          const timeout = this.options.connectTimeoutMillis ?? 5000
          peer.timer = setTimeout(() => this.fail(peer, "handshake timed out"), timeout)
        }
        peer.incoming = conn
        conn.peerName = name
        conn.peerCreation = creation
        conn.challenge = randomBytes(16).toString("hex")
        conn.step = "proof"
        conn.writeNow(["challenge", this.kernel.name, this.kernel.creation, conn.challenge, hmac(cookie, challenge)])
        return
      }
      case "challenge": {
        if (frame[0] === "refuse") {
          this.log(`Connection to ${conn.peerName} refused: ${String(frame[1])}`)
          return conn.destroy(frame[1] === "simultaneous" ? "simultaneous" : `refused: ${String(frame[1])}`)
        }
        const [tag, name, creation, challenge, proof] = frame
        if (tag !== "challenge" || typeof challenge !== "string" || !(proof instanceof Uint8Array)) {
          return conn.destroy("malformed handshake")
        }
        if (name !== conn.peerName) {
          this.log(`Closing the connection to ${conn.peerName}: the node there is ${String(name)}`)
          return conn.destroy(`the node at that address is ${String(name)}`)
        }
        if (!this.proofOk(cookie, conn.challenge, proof)) {
          this.log(`Closing the connection to ${name}: wrong cookie`)
          return conn.destroy("wrong cookie")
        }
        conn.peerCreation = creation
        conn.writeNow(["proof", hmac(cookie, challenge)])
        const peer = this.peer(name)
        if (peer.outgoing !== conn) return conn.destroy("superseded")
        return this.up(peer, conn)
      }
      case "proof": {
        const [tag, proof] = frame
        if (tag !== "proof" || !(proof instanceof Uint8Array) || !this.proofOk(cookie, conn.challenge, proof)) {
          this.log(`Closing the connection from ${conn.peerName}: wrong cookie`)
          return conn.destroy("wrong cookie")
        }
        const peer = this.peer(conn.peerName!)
        if (peer.incoming !== conn) return conn.destroy("superseded")
        this.accepted.delete(conn)
        return this.up(peer, conn)
      }
    }
  }

  private proofOk(cookie: string, challenge: string, proof: Uint8Array): boolean {
    const expected = hmac(cookie, challenge)
    return proof.length === expected.length && timingSafeEqual(expected, proof)
  }

  private refuse(conn: Conn, reason: string): void {
    conn.writeNow(["refuse", reason])
    conn.abandoned = true
    conn.end()
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
        const error = kernel.enqueue(proc, new CallEnvelope(request, new From({ to: from, ref }, true)), "normal")
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

  private spawnHere(node: string, id: number, name: string, args: unknown, options: { name?: string } | null): void {
    const answer = (ok: boolean, value: unknown) => this.enqueue(node, [SPAWNED, id, ok, value], false)
    const behaviour = this.allow.get(name)
    if (behaviour === undefined) return answer(false, `${name} is not in this node's allowSpawn list`)
    const spawnOptions: SpawnOptions | undefined = options?.name !== undefined ? { name: options.name } : undefined
    Effect.runPromiseExit(
      spawnEffect(this.kernel, behaviour, args, spawnOptions, this.runtime, undefined, undefined, false) as Effect.Effect<Pid, unknown>
    ).then((exit) => {
      if (exit._tag === "Success") answer(true, exit.value)
      else answer(false, encodeExit(exit)[1] instanceof Error ? (encodeExit(exit)[1] as Error).message : String(encodeExit(exit)[1]))
    })
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
  private check(frame: ReadonlyArray<unknown>, payload: unknown): unknown {
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
    if (bytes.length > this.maxMessage) return new MessageTooLarge({ size: bytes.length, limit: this.maxMessage })
    return bytes
  }

  send(from: Pid | undefined, to: Pid | Alias | Name, message: unknown, priority: Priority): unknown | undefined {
    const frame = this.check([SEND, from === undefined ? null : fromAddress(from), fromAddress(to), message, priorityCode(priority)], message)
    if (frame instanceof TypeNotRegistered || frame instanceof MessageTooLarge) return frame
    this.enqueue(to.node, frame)
    return undefined
  }

  call(from: Pid | Alias, to: Pid | Name, ref: Reference, request: unknown): unknown | undefined {
    const frame = this.check([CALL, fromAddress(from), fromAddress(to), [ref.node, ref.id, ref.creation], request], request)
    if (frame instanceof TypeNotRegistered || frame instanceof MessageTooLarge) return frame
    this.enqueue(to.node, frame)
    return undefined
  }

  reply(ref: Reference, exit: Exit.Exit<unknown, unknown>): void {
    let wire = encodeExit(exit)
    if (!encodes(wire)) wire = [false, "the reply could not be encoded for the wire", false]
    this.enqueue(ref.node, [REPLY, [ref.node, ref.id, ref.creation], wire], false)
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
    options: SpawnOptions & { readonly link?: Pid | undefined; readonly monitor?: Pid | undefined }
  ): Promise<Exit.Exit<Pid, unknown>> {
    const id = this.nextSpawn++
    const frame = this.check([SPAWN, id, behaviour, args, options.name !== undefined ? { name: options.name } : null], args)
    if (frame instanceof TypeNotRegistered || frame instanceof MessageTooLarge) return Promise.resolve(Exit.fail(frame))
    return new Promise((resolve) => {
      this.spawns.set(id, { node, behaviour, resolve })
      this.enqueue(node, frame)
    })
  }
}
