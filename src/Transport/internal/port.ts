/**
 * The worker-thread transport: a `Duplex` over a `MessagePort`, and the broker that pairs
 * ports between threads.
 *
 * Why a broker: a `MessagePort` cannot be opened by address, only handed over. Every thread
 * that takes part holds a control port to one broker (in the main thread); `listen`
 * registers an address (`thread:<node>`) with it, and `connect` asks it for a fresh
 * `MessageChannel` whose two ends it transfers, one to each side. From then on the bytes go
 * straight from thread to thread; the broker sees none of them.
 *
 * Hot path: `write` (one `postMessage` per session flush, i.e. per batch of frames, with the
 * `ArrayBuffer` transferred rather than copied) and the `message` listener; the receiver
 * acknowledges every MiB it reads so that a sender far ahead is held back (`busy`).
 *
 * @internal
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import { MessageChannel, type MessagePort } from "node:worker_threads"
import type { Duplex } from "./duplex.js"
import { TransportError } from "../types.js"

/** The prefix of a thread address. */
export const THREAD_PREFIX = "thread:"

/** A message on a port that says the sender closed its end on purpose (an `ArrayBuffer` is data). */
const CLOSE = "close"
/**
 * Backpressure: a `MessagePort` queues without limit, so the receiver acknowledges what it has
 * read (a number message, the bytes) every `ACK_BYTES`, and a sender with more than
 * `BUSY_BYTES` unacknowledged is busy (the session holds its frames, as with a full socket).
 * `BUSY_BYTES > ACK_BYTES`, so a busy sender always gets an acknowledgement.
 */
const ACK_BYTES = 1024 * 1024
const BUSY_BYTES = 4 * 1024 * 1024

/**
 * A duplex over one end of a `MessageChannel`. The peer's end closing (its thread ended,
 * crashed or was terminated) is a close with an error, as a reset TCP connection is.
 *
 * @internal
 */
export const fromMessagePort = (port: MessagePort, remoteAddress: string): Duplex => {
  let closed = false
  let closeError: unknown = undefined
  let closeHandler: ((error: unknown) => void) | undefined
  let dataHandler: ((chunk: Uint8Array) => void) | undefined
  let early: Array<Uint8Array> | undefined = []
  let unacked = 0
  let inFlight = 0
  let drainHandler: (() => void) | undefined
  const received = (bytes: number) => {
    unacked += bytes
    if (unacked >= ACK_BYTES && !closed) {
      port.postMessage(unacked)
      unacked = 0
    }
  }
  const finish = (error: unknown, closePort = true) => {
    if (closed) return
    closed = true
    closeError = error
    port.off("message", onMessage)
    if (closePort) port.close()
    const h = closeHandler
    closeHandler = undefined
    if (h !== undefined) h(error)
  }
  const onMessage = (m: unknown) => {
    if (closed) return
    if (m instanceof ArrayBuffer) {
      const chunk = new Uint8Array(m)
      if (dataHandler !== undefined) {
        dataHandler(chunk)
        received(m.byteLength)
      } else early!.push(chunk)
    } else if (typeof m === "number") {
      inFlight -= m
      if (inFlight <= BUSY_BYTES && drainHandler !== undefined) {
        const h = drainHandler
        drainHandler = undefined
        h()
      }
    } else if (m === CLOSE) finish(undefined)
    else finish(new Error(`unexpected message on a thread connection: ${typeof m}`))
  }
  port.on("message", onMessage)
  // Emitted when either end is closed: after our own `close()`, or when the peer's thread ends.
  port.on("close", () => finish(new Error(`the thread at ${remoteAddress} is gone`)))
  return {
    remoteAddress,
    write: (chunk) => {
      if (closed) return
      // Hot path: a buffer that owns its whole ArrayBuffer is transferred; any other (a slice
      // of Node's shared pool) is copied once, since transferring would detach the pool.
      // (Buffer's `slice` is a view, so the copy is made by hand.)
      let ab: ArrayBuffer
      if (chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer) {
        ab = chunk.buffer
      } else {
        const copy = new Uint8Array(chunk.byteLength)
        copy.set(chunk)
        ab = copy.buffer
      }
      inFlight += ab.byteLength
      port.postMessage(ab, [ab])
    },
    ownsWrites: true,
    busy: () => inFlight > BUSY_BYTES,
    onDrain: (handler) => {
      if (inFlight <= BUSY_BYTES) handler()
      else drainHandler = handler
    },
    onData: (handler) => {
      dataHandler = handler
      const queued = early!
      early = undefined
      for (let i = 0; i < queued.length && !closed; i++) {
        handler(queued[i]!) // i < queued.length
        received(queued[i]!.byteLength)
      }
    },
    onClose: (handler) => {
      if (closed) handler(closeError)
      else closeHandler = handler
    },
    close: (error) => {
      if (closed) return
      if (error !== undefined) return finish(error)
      // Closing the port at once may overtake messages still in flight (the peer would see the
      // close before our last frames, e.g. a handshake refusal): say CLOSE after them and let
      // the peer, once it has read everything, close the channel; a peer that never reads it
      // gets the port closed after a while anyway.
      port.postMessage(CLOSE)
      finish(undefined, false)
      setTimeout(() => port.close(), 2000).unref()
    }
  }
}

// --- the broker protocol ---------------------------------------------------------------

/** Thread -> broker. */
type ToBroker =
  | { readonly t: "listen"; readonly address: string }
  | { readonly t: "unlisten"; readonly address: string }
  | { readonly t: "connect"; readonly id: number; readonly address: string; readonly from: string }

/** Broker -> thread. */
type FromBroker =
  | { readonly t: "accept"; readonly address: string; readonly from: string; readonly port: MessagePort }
  | { readonly t: "connected"; readonly id: number; readonly port: MessagePort }
  | { readonly t: "refused"; readonly id: number; readonly detail: string }
  | { readonly t: "listening"; readonly address: string; readonly error?: string }
  | { readonly t: "directory"; readonly address: string; readonly listening: boolean }

/**
 * The main thread's side: the directory of listening addresses and the control port of
 * each thread. Pairs a `connect` with the listener of its address by handing each a
 * `MessageChannel` end.
 *
 * @internal
 */
export class Broker {
  private readonly listeners = new Map<string, MessagePort>()
  private readonly controls = new Set<MessagePort>()
  /** Told when an address starts or stops listening (the cluster tracks its members with it). */
  onListen: ((address: string, listening: boolean) => void) | undefined = undefined

  /**
   * A new control port for one thread (pass it in `workerData` with a transfer list), and a
   * function that forgets it and what it listened on (call it when the thread has ended).
   */
  endpoint(): { readonly port: MessagePort; readonly drop: () => void } {
    const { port1, port2 } = new MessageChannel()
    this.controls.add(port1)
    port1.on("message", (m: ToBroker) => this.handle(port1, m))
    // The thread ended: whatever it listened on is gone.
    port1.on("close", () => this.drop(port1))
    port1.unref()
    for (const address of this.listeners.keys()) {
      port1.postMessage({ t: "directory", address, listening: true } satisfies FromBroker)
    }
    return { port: port2, drop: () => this.drop(port1) }
  }

  /** Tells every thread that an address started or stopped listening. */
  private announce(address: string, listening: boolean): void {
    for (const control of this.controls) control.postMessage({ t: "directory", address, listening } satisfies FromBroker)
    this.onListen?.(address, listening)
  }

  /** Forgets a thread's control port and every address it listened on (its thread ended). */
  drop(control: MessagePort): void {
    if (!this.controls.delete(control)) return
    for (const [address, port] of this.listeners) {
      if (port === control) {
        this.listeners.delete(address)
        this.announce(address, false)
      }
    }
    control.close()
  }

  /** Whether a thread listens on `address` now. */
  isListening(address: string): boolean {
    return this.listeners.has(address)
  }

  close(): void {
    for (const control of Array.from(this.controls)) this.drop(control)
  }

  private handle(control: MessagePort, m: ToBroker): void {
    switch (m.t) {
      case "listen": {
        const taken = this.listeners.get(m.address)
        if (taken !== undefined && taken !== control) {
          control.postMessage({ t: "listening", address: m.address, error: "the address is taken by another thread" })
          return
        }
        this.listeners.set(m.address, control)
        control.postMessage({ t: "listening", address: m.address } satisfies FromBroker)
        if (taken === undefined) this.announce(m.address, true)
        return
      }
      case "unlisten": {
        if (this.listeners.get(m.address) === control) {
          this.listeners.delete(m.address)
          this.announce(m.address, false)
        }
        return
      }
      case "connect": {
        const target = this.listeners.get(m.address)
        if (target === undefined) {
          control.postMessage({ t: "refused", id: m.id, detail: "no thread listens there" } satisfies FromBroker)
          return
        }
        const { port1, port2 } = new MessageChannel()
        target.postMessage({ t: "accept", address: m.address, from: m.from, port: port2 } satisfies FromBroker, [port2])
        control.postMessage({ t: "connected", id: m.id, port: port1 } satisfies FromBroker, [port1])
        return
      }
    }
  }
}

/**
 * The thread's side of the broker protocol: listen on an address, connect to one. One per
 * control port (a thread may serve several transports with it, one address each).
 *
 * @internal
 */
export class BrokerClient {
  private static readonly byPort = new WeakMap<MessagePort, BrokerClient>()

  /** The client of a control port (one per port: it owns the port's `message` listener). */
  static of(control: MessagePort): BrokerClient {
    let client = BrokerClient.byPort.get(control)
    if (client === undefined) BrokerClient.byPort.set(control, (client = new BrokerClient(control)))
    return client
  }

  private nextId = 0
  private readonly pending = new Map<number, (reply: FromBroker) => void>()
  private readonly accepting = new Map<string, (duplex: Duplex) => void>()
  private readonly listenWaiters = new Map<string, (error: string | undefined) => void>()
  /** The addresses threads listen on now, as the broker announces them. */
  readonly directory = new Set<string>()

  private constructor(private readonly control: MessagePort) {
    control.on("message", (m: FromBroker) => this.handle(m))
    // The broker went away (the cluster stopped): no more connections can be made.
    control.on("close", () => {
      for (const [id, reply] of this.pending) reply({ t: "refused", id, detail: "the cluster's broker is gone" })
      this.pending.clear()
    })
    control.unref()
  }

  private handle(m: FromBroker): void {
    switch (m.t) {
      case "accept": {
        const accept = this.accepting.get(m.address)
        if (accept === undefined) {
          m.port.close()
          return
        }
        accept(fromMessagePort(m.port, `${THREAD_PREFIX}${m.from}`))
        return
      }
      case "directory": {
        if (m.listening) this.directory.add(m.address)
        else this.directory.delete(m.address)
        return
      }
      case "listening": {
        const w = this.listenWaiters.get(m.address)
        this.listenWaiters.delete(m.address)
        w?.(m.error)
        return
      }
      case "connected":
      case "refused": {
        const reply = this.pending.get(m.id)
        this.pending.delete(m.id)
        if (reply !== undefined) reply(m)
        else if (m.t === "connected") m.port.close()
        return
      }
    }
  }

  /** Listens on `address` until the scope closes; closing it closes the connections it accepted. */
  listen(address: string, onConnection: (duplex: Duplex) => void): Effect.Effect<void, TransportError, Scope.Scope> {
    const open = new Set<Duplex>()
    return Effect.acquireRelease(
      Effect.async<void, TransportError>((resume) => {
        this.accepting.set(address, (duplex) => {
          open.add(duplex)
          duplex.onClose(() => open.delete(duplex))
          onConnection(duplex)
        })
        this.listenWaiters.set(address, (error) => {
          if (error === undefined) return resume(Effect.void)
          this.accepting.delete(address)
          resume(Effect.fail(new TransportError({ operation: "listen", address, detail: error })))
        })
        this.control.postMessage({ t: "listen", address } satisfies ToBroker)
      }),
      () =>
        Effect.sync(() => {
          this.accepting.delete(address)
          this.control.postMessage({ t: "unlisten", address } satisfies ToBroker)
          for (const d of open) d.close(new Error("listener closed"))
        })
    )
  }

  /** Asks the broker for a channel to the thread listening on `address`. */
  connect(address: string, from: string): Effect.Effect<Duplex, TransportError> {
    return Effect.async<Duplex, TransportError>((resume) => {
      const id = ++this.nextId
      this.pending.set(id, (reply) => {
        if (reply.t === "connected") resume(Effect.succeed(fromMessagePort(reply.port, address)))
        else if (reply.t === "refused") {
          resume(Effect.fail(new TransportError({ operation: "connect", address, detail: reply.detail })))
        }
      })
      this.control.postMessage({ t: "connect", id, address, from } satisfies ToBroker)
      // Interrupted (connect timeout): a port that arrives later is closed by `handle`.
      return Effect.sync(() => this.pending.delete(id))
    })
  }
}
