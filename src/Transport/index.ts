/**
 * The wire between nodes: transports (TCP, TLS, in-memory, or any byte duplex), framing,
 * the authenticated handshake, compression, and the `Session` the node layer sends frames
 * through.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Transport } from "rain"
 *
 * const cookie = "secret"
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const listener = yield* Transport.serve(Transport.tcp(), { name: "b@localhost", cookie }, (session) =>
 *     Effect.sync(() => session.setHandler({ onFrame: (bytes) => console.log(bytes.length) })))
 *   const session = yield* Transport.connect(Transport.tcp(), listener.address, { name: "a@localhost", cookie })
 *   session.send(new TextEncoder().encode("hello"))
 * }))
 * ```
 * @since 0.1.0
 */
import { Effect, FiberSet, Queue, Scope } from "effect"
import * as net from "node:net"
import * as tls from "node:tls"
import type { MessagePort } from "node:worker_threads"
import { type Duplex, fromNodeSocket, memoryPair } from "./internal/duplex.js"
import { BrokerClient, THREAD_PREFIX } from "./internal/port.js"
import * as internal from "./internal/session.js"
import {
  HandshakeRejected,
  type HandshakeOptions,
  type Session,
  TransportError
} from "./types.js"

export {
  /**
   * Re-exported from `./types`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  HandshakeRejected,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  type HandshakeOptions,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  type HandshakeRefusal,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  type PeerInfo,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  type Session,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  SessionClosed,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  type SessionHandler,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  TransportError
} from "./types.js"
export type {
  /**
   * Re-exported from `./internal/duplex`.
   *
   * @since 0.1.0
   * @category models
   */
  Duplex
} from "./internal/duplex.js"

/**
 * The current wire protocol version, announced in the handshake.
 *
 * @since 0.1.0
 */
export const protocolVersion: number = internal.PROTOCOL_VERSION

/**
 * A bound listener. Closing the scope it was made in closes it and every connection it accepted.
 *
 * @since 0.1.0
 */
export interface Listener {
  /** What a peer passes to `connect`: `host:port` for TCP/TLS, `memory:N` in memory. */
  readonly address: string
  /** The bound port (TCP/TLS; 0 for memory). */
  readonly port: number
}

/**
 * Anything that yields byte duplexes: listens for them and opens them. Implement it to carry
 * the wire over another protocol (a Unix socket, a worker `MessagePort`, QUIC, ...).
 *
 * @since 0.1.0
 */
export interface Transport {
  readonly _tag: string
  readonly listen: (onConnection: (duplex: Duplex) => void) => Effect.Effect<Listener, TransportError, Scope.Scope>
  readonly connect: (address: string) => Effect.Effect<Duplex, TransportError>
}

/**
 * Options of the TCP transport.
 *
 * @since 0.1.0
 */
export interface TcpOptions {
  /** Interface to listen on (default `127.0.0.1`). */
  readonly host?: string | undefined
  /** Port to listen on; 0 (the default) picks a free one, see `Listener.port`. */
  readonly port?: number | undefined
}

const parseAddress = (address: string): { host: string; port: number } | undefined => {
  const i = address.lastIndexOf(":")
  if (i <= 0) return undefined
  const port = Number(address.slice(i + 1))
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, "$1")
  return { host, port }
}

const formatAddress = (host: string, port: number): string => host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`

const listenServer = (
  server: net.Server,
  host: string,
  port: number,
  onConnection: (duplex: Duplex) => void,
  event: "connection" | "secureConnection"
): Effect.Effect<Listener, TransportError, Scope.Scope> => {
  const sockets = new Set<net.Socket>()
  server.on(event, (socket: net.Socket) => {
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    onConnection(fromNodeSocket(socket))
  })
  // Errors of one accepted connection (e.g. a failed TLS handshake) must not kill the server.
  server.on("tlsClientError", (_e: unknown, socket: net.Socket) => socket.destroy())
  return Effect.acquireRelease(
    Effect.async<Listener, TransportError>((resume) => {
      const onError = (e: Error) =>
        resume(Effect.fail(new TransportError({ operation: "listen", address: formatAddress(host, port), detail: e.message })))
      server.once("error", onError)
      server.listen(port, host, () => {
        server.off("error", onError)
        server.on("error", () => {})
        const bound = (server.address() as net.AddressInfo).port
        resume(Effect.succeed({ address: formatAddress(host, bound), port: bound }))
      })
    }),
    () =>
      Effect.async<void>((resume) => {
        // A socket still writing (a session's last frames) gets a moment to finish.
        for (const s of sockets) {
          if (s.writableLength === 0) s.destroy()
          else {
            s.end()
            setTimeout(() => s.destroy(), 1000).unref()
          }
        }
        server.close(() => resume(Effect.void))
      })
  )
}

const connectSocket = (
  address: string,
  open: (host: string, port: number) => net.Socket,
  readyEvent: "connect" | "secureConnect"
): Effect.Effect<Duplex, TransportError> =>
  Effect.async<Duplex, TransportError>((resume) => {
    const parsed = parseAddress(address)
    if (parsed === undefined) {
      resume(Effect.fail(new TransportError({ operation: "connect", address, detail: "expected host:port" })))
      return
    }
    const socket = open(parsed.host, parsed.port)
    socket.setNoDelay(true)
    const onError = (e: Error) => {
      socket.destroy()
      resume(Effect.fail(new TransportError({ operation: "connect", address, detail: e.message })))
    }
    socket.once("error", onError)
    socket.once(readyEvent, () => {
      socket.off("error", onError)
      resume(Effect.succeed(fromNodeSocket(socket, address)))
    })
    return Effect.sync(() => socket.destroy())
  })

/**
 * Plain TCP (`node:net`) with `noDelay`: the session already coalesces writes.
 *
 * @since 0.1.0
 */
export const tcp = (options: TcpOptions = {}): Transport => {
  const host = options.host ?? "127.0.0.1"
  return {
    _tag: "tcp",
    listen: (onConnection) =>
      Effect.suspend(() => listenServer(net.createServer(), host, options.port ?? 0, onConnection, "connection")),
    connect: (address) =>
      connectSocket(address, (h, port) => net.connect({ host: h, port, noDelay: true }), "connect")
  }
}

/**
 * Options of the TLS transport (PEM strings or buffers).
 *
 * @since 0.1.0
 */
export interface TlsOptions extends TcpOptions {
  /** This node's certificate chain (required to listen; to connect only with `requireClientCert` peers). */
  readonly cert?: string | Buffer
  readonly key?: string | Buffer
  /** Certificates trusted to sign the peer's certificate (default: the system's CAs). */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>
  /** When listening: require and verify a client certificate signed by `ca` (mutual TLS). */
  readonly requireClientCert?: boolean
  /** Server name to verify when connecting (default: the host of the address). */
  readonly servername?: string
  /**
   * Match the peer's certificate to the host connected to (default true). Set false for
   * cluster certificates that name no host: the chain is still verified against `ca`.
   */
  readonly checkHostname?: boolean
}

/**
 * TLS over TCP (`node:tls`), optionally with mutual authentication. Peer certificates are
 * always verified; the cookie handshake still runs inside the TLS channel.
 *
 * @since 0.1.0
 */
export const tls_ = (options: TlsOptions): Transport => {
  const host = options.host ?? "127.0.0.1"
  const ca = options.ca === undefined ? undefined : Array.isArray(options.ca) ? [...options.ca] : options.ca as any
  return {
    _tag: "tls",
    listen: (onConnection) =>
      Effect.suspend(() =>
        listenServer(
          tls.createServer({
            cert: options.cert,
            key: options.key,
            ca,
            requestCert: options.requireClientCert === true,
            rejectUnauthorized: options.requireClientCert === true
          }),
          host,
          options.port ?? 0,
          onConnection,
          "secureConnection"
        )
      ),
    connect: (address) =>
      connectSocket(
        address,
        (h, port) =>
          tls.connect({
            host: h,
            port,
            ca,
            cert: options.cert,
            key: options.key,
            rejectUnauthorized: true,
            ...(options.checkHostname === false ? { checkServerIdentity: () => undefined } : {}),
            ...(options.servername !== undefined ? { servername: options.servername } : net.isIP(h) ? {} : { servername: h })
          }),
        "secureConnect"
      )
  }
}
export {
  /**
   * TLS over TCP: verifies the peer's certificate against the CA and its host name.
   *
   * @since 0.1.0
   * @category transports
   */
  tls_ as tls
}

const memoryListeners = new Map<string, (duplex: Duplex) => void>()
let memoryCounter = 0

/**
 * In-process transport for tests (and the shape a worker `MessagePort` transport takes):
 * every listener gets an address `memory:N` that any memory transport of the process can
 * connect to.
 *
 * @since 0.1.0
 */
export const memory = (): Transport => ({
  _tag: "memory",
  listen: (onConnection) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const address = `memory:${++memoryCounter}`
        const open = new Set<Duplex>()
        memoryListeners.set(address, (d) => {
          open.add(d)
          d.onClose(() => open.delete(d))
          onConnection(d)
        })
        return { listener: { address, port: 0 } as Listener, open }
      }),
      ({ listener, open }) =>
        Effect.sync(() => {
          memoryListeners.delete(listener.address)
          for (const d of open) d.close(new Error("listener closed"))
        })
    ).pipe(Effect.map(({ listener }) => listener)),
  connect: (address) =>
    Effect.suspend(() => {
      const accept = memoryListeners.get(address)
      if (accept === undefined) {
        return Effect.fail(new TransportError({ operation: "connect", address, detail: "no memory listener there" }))
      }
      const [client, server] = memoryPair(`memory-client:${++memoryCounter}`, address)
      accept(server)
      return Effect.succeed(client)
    })
})

/**
 * Options of the worker-thread transport.
 *
 * @since 0.2.0
 * @category models
 */
export interface WorkerOptions {
  /**
   * A control port to the broker that pairs threads (the main thread's); `Cluster` hands one
   * to each of its threads, and `cluster.network(name)` builds this transport for the main thread.
   */
  readonly broker: MessagePort
  /** This node's thread address, `thread:<node name>`. */
  readonly address: string
  /**
   * The transport for every other address (`Transport.tcp()` to reach nodes outside the
   * process); it listens beside the thread address, and its address is the listener's.
   */
  readonly fallback?: Transport | undefined
}

/**
 * Worker threads of one OS process, over `MessagePort`s: a connection is a
 * `MessageChannel` the broker hands out, each batch of frames one `postMessage` with its
 * `ArrayBuffer` transferred (no copy). The handshake (cookie proof) runs over it as over
 * TCP. A thread that ends closes its connections with an error, as a reset socket does.
 * Addresses not starting with `thread:` go to `fallback`.
 *
 * @example
 * ```ts
 * import { Transport } from "rain"
 * import { MessageChannel } from "node:worker_threads"
 *
 * // In a cluster thread the broker's port comes in `workerData` (`Cluster` does this);
 * // here one end of a fresh channel stands in for it.
 * const { port1: broker } = new MessageChannel()
 * const transport = Transport.worker({ broker, address: "thread:a@cluster", fallback: Transport.tcp() })
 * broker.close()
 * ```
 * @since 0.2.0
 * @category transports
 */
export const worker = (options: WorkerOptions): Transport => {
  const badAddress = options.address.startsWith(THREAD_PREFIX) && options.address.length > THREAD_PREFIX.length
    ? undefined
    : new TransportError({
      operation: "listen",
      address: options.address,
      detail: `Transport.worker's address must be "${THREAD_PREFIX}<node name>"`
    })
  const client = BrokerClient.of(options.broker)
  const fallback = options.fallback
  const from = options.address.slice(THREAD_PREFIX.length)
  return {
    _tag: "worker",
    listen: (onConnection) =>
      badAddress !== undefined ? Effect.fail(badAddress) : Effect.zipRight(
        client.listen(options.address, onConnection),
        fallback === undefined
          ? Effect.succeed<Listener>({ address: options.address, port: 0 })
          : fallback.listen(onConnection)
      ),
    connect: (address) =>
      address.startsWith(THREAD_PREFIX)
        ? client.connect(address, from)
        : fallback === undefined
        ? Effect.fail(
          new TransportError({
            operation: "connect",
            address,
            detail: "not a thread address and Transport.worker was given no fallback transport (e.g. Transport.tcp())"
          })
        )
        : fallback.connect(address)
  }
}

/**
 * The thread addresses listening now, as the broker of `broker` announced them
 * (`thread:<node name>`). Used to route to the nodes of a cluster as they come and go.
 *
 * @since 0.2.0
 * @category transports
 */
export const workerDirectory = (broker: MessagePort): ReadonlySet<string> => BrokerClient.of(broker).directory

/**
 * Runs the handshake over an open duplex, as the side that opened it (`initiator`) or
 * accepted it (`acceptor`). On failure the duplex is closed, the reason logged, and
 * `HandshakeRejected` returned.
 *
 * @since 0.1.0
 */
export const handshake: (
  duplex: Duplex,
  role: "initiator" | "acceptor",
  options: HandshakeOptions
) => Effect.Effect<Session, HandshakeRejected> = internal.handshake

/**
 * Opens a connection to a listening node and authenticates it.
 *
 * @since 0.1.0
 */
export const connect = (
  transport: Transport,
  address: string,
  options: HandshakeOptions
): Effect.Effect<Session, TransportError | HandshakeRejected> =>
  Effect.flatMap(transport.connect(address), (duplex) => internal.handshake(duplex, "initiator", options))

/**
 * Options of {@link serve} beyond the handshake's.
 *
 * @since 0.1.0
 */
export interface ServeOptions extends HandshakeOptions {
  /** Told about every connection whose handshake failed (it is already closed and logged). */
  readonly onRejected?: (error: HandshakeRejected) => Effect.Effect<void>
}

/**
 * Listens on a transport and runs the handshake on every accepted connection, handing each
 * authenticated session to `onSession`. A connection that fails the handshake is closed and
 * logged; the listener keeps accepting. Closing the scope closes the listener, its
 * connections and the handshakes in progress.
 *
 * @since 0.1.0
 */
export const serve = <R>(
  transport: Transport,
  options: ServeOptions,
  onSession: (session: Session) => Effect.Effect<void, never, R>
): Effect.Effect<Listener, TransportError, Scope.Scope | R> =>
  Effect.gen(function*() {
    const run = yield* FiberSet.makeRuntime<R>()
    return yield* transport.listen((duplex) => {
      run(
        internal.handshake(duplex, "acceptor", options).pipe(
          Effect.flatMap(onSession),
          Effect.catchAll((e) => options.onRejected === undefined ? Effect.void : options.onRejected(e))
        )
      )
    })
  })

/**
 * The frames of a session as a queue (for Effect code; the callback of `setHandler` is
 * cheaper). The queue is shut down when the session closes.
 *
 * @since 0.1.0
 */
export const frames = (session: Session): Effect.Effect<Queue.Dequeue<Uint8Array>> =>
  Effect.map(Queue.unbounded<Uint8Array>(), (queue) => {
    session.setHandler({
      onFrame: (f) => void queue.unsafeOffer(f),
      onClose: () => void Effect.runFork(Queue.shutdown(queue))
    })
    return queue
  })

/**
 * A scoped session: closed when the scope closes.
 *
 * @since 0.1.0
 */
export const connectScoped = (
  transport: Transport,
  address: string,
  options: HandshakeOptions
): Effect.Effect<Session, TransportError | HandshakeRejected, Scope.Scope> =>
  Effect.acquireRelease(connect(transport, address, options), (s) => s.close)
