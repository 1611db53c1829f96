/**
 * The byte duplex every transport yields, and its implementations over node sockets and
 * in memory.
 *
 * Why not `@effect/platform`'s `Socket`: its reader is an Effect callback run per chunk and
 * its writer an Effect per write, and the session needs neither: it parses frames and
 * coalesces writes in plain callbacks, so it can hand a decoded frame to the node layer
 * without a fiber hop. A four-method interface is also what a custom transport (a worker
 * `MessagePort`, a Unix socket, a QUIC stream) is easiest to adapt to. Measured: a TCP
 * session pair over this duplex carries ~1.1M small frames/s in one process
 * (`npx tsx bench/wire.ts`); `Socket` was not benchmarked side by side for lack of time.
 *
 * @internal
 */
import type * as net from "node:net"

/**
 * A connected byte duplex. `onData` and `onClose` take a single handler each; data that
 * arrives before `onData` is called waits (node sockets stay paused until then).
 *
 * @since 0.1.0
 */
export interface Duplex {
  /** Where the other end is, for logs (`127.0.0.1:53122`, `memory:3`). */
  readonly remoteAddress: string
  /** Queues bytes for the other end; the buffer must not be modified afterwards. */
  readonly write: (chunk: Uint8Array) => void
  readonly onData: (handler: (chunk: Uint8Array) => void) => void
  /** Called once, when the duplex is closed from either side (with the error, if any). */
  readonly onClose: (handler: (error: unknown) => void) => void
  /** Closes the duplex; queued bytes are flushed first unless an error is given. */
  readonly close: (error?: unknown) => void
  /**
   * Optional backpressure: true while the duplex holds more unsent bytes than it wants;
   * the session then keeps frames (coalescing them) until `onDrain`'s handler is called.
   */
  readonly busy?: () => boolean
  /** Calls the handler once, when the bytes held by a busy duplex have been sent. */
  readonly onDrain?: (handler: () => void) => void
  /**
   * True when `write` takes ownership of a chunk's whole `ArrayBuffer` (a `MessagePort`
   * transfers it): the session then writes each batch into a buffer of its own rather than
   * a slice of Node's shared pool, so that it can be handed over without a copy.
   */
  readonly ownsWrites?: boolean
}

/** Bytes a socket may hold unsent before the session stops writing to it. */
const SOCKET_BUSY_BYTES = 1024 * 1024

/** @internal */
export const fromNodeSocket = (socket: net.Socket, remoteAddress?: string): Duplex => {
  let closed = false
  let closeError: unknown = undefined
  let closeHandler: ((error: unknown) => void) | undefined
  socket.on("error", (e) => {
    closeError ??= e
  })
  socket.on("close", () => {
    closed = true
    const h = closeHandler
    closeHandler = undefined
    if (h !== undefined) h(closeError)
  })
  return {
    remoteAddress: remoteAddress ?? `${socket.remoteAddress}:${socket.remotePort}`,
    write: (chunk) => {
      if (!closed && socket.writable) socket.write(chunk)
    },
    onData: (handler) => {
      socket.on("data", handler)
    },
    onClose: (handler) => {
      if (closed) handler(closeError)
      else closeHandler = handler
    },
    busy: () => socket.writableLength > SOCKET_BUSY_BYTES,
    onDrain: (handler) => {
      socket.once("drain", handler)
    },
    close: (error) => {
      if (closed) return
      if (error !== undefined) {
        closeError ??= error
        socket.destroy()
      } else {
        socket.end()
        // A peer that never reads must not keep the socket alive forever.
        setTimeout(() => socket.destroy(), 2000).unref()
      }
    }
  }
}

/**
 * Two connected in-memory duplexes. Bytes are delivered in order on a microtask, so
 * writes never re-enter the reader synchronously.
 *
 * @internal
 */
export const memoryPair = (nameA: string, nameB: string): readonly [Duplex, Duplex] => {
  class End implements Duplex {
    other!: End
    inbox: Array<Uint8Array> = []
    dataHandler: ((chunk: Uint8Array) => void) | undefined
    closeHandler: ((error: unknown) => void) | undefined
    closed = false
    closeError: unknown = undefined
    scheduled = false
    constructor(readonly remoteAddress: string) {}
    write = (chunk: Uint8Array): void => {
      if (this.closed || this.other.closed) return
      this.other.deliver(chunk)
    }
    deliver(chunk: Uint8Array): void {
      this.inbox.push(chunk)
      this.schedule()
    }
    schedule(): void {
      if (this.scheduled || this.dataHandler === undefined) return
      this.scheduled = true
      queueMicrotask(this.drain)
    }
    drain = (): void => {
      this.scheduled = false
      const inbox = this.inbox
      this.inbox = []
      for (let i = 0; i < inbox.length && !this.closed; i++) this.dataHandler!(inbox[i]!) // i < inbox.length
    }
    onData = (handler: (chunk: Uint8Array) => void): void => {
      this.dataHandler = handler
      if (this.inbox.length > 0) this.schedule()
    }
    onClose = (handler: (error: unknown) => void): void => {
      if (this.closed) handler(this.closeError)
      else this.closeHandler = handler
    }
    finish(error: unknown): void {
      if (this.closed) return
      this.closed = true
      this.closeError = error
      const h = this.closeHandler
      this.closeHandler = undefined
      if (h !== undefined) h(error)
    }
    close = (error?: unknown): void => {
      if (this.closed) return
      // Let bytes already written reach the other end before it sees the close.
      queueMicrotask(() => {
        const other = this.other
        if (other.inbox.length > 0 && other.dataHandler !== undefined && error === undefined) other.drain()
        other.finish(undefined)
      })
      this.finish(error)
    }
  }
  const a = new End(nameB)
  const b = new End(nameA)
  a.other = b
  b.other = a
  return [a, b]
}
