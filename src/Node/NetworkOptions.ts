/**
 * The distribution settings of a node (`NodeOptions.network`) and the error of a node
 * whose network cannot start. Re-exported by the Node module.
 *
 * @since 0.1.0
 */
import type { Duration } from "effect"
import { Schema } from "effect"
import type { Spec as ApplicationSpec } from "../Application/index.js"
import type { WireClass } from "../Message/internal/codec.js"
import type { Basic, Registrar, Route } from "../Registry/Registrar.js"
import type * as Transport from "../Transport/index.js"

/**
 * Distribution settings of a node (`NodeOptions.network`). Without them the node is alone.
 *
 * @example
 * ```ts
 * import { Node } from "rain"
 *
 * const node = Node.start("a@127.0.0.1", {
 *   network: { cookie: "secret", port: 0, routes: { "b@127.0.0.1": "127.0.0.1:4370" }, tickTime: "60 seconds" }
 * })
 * ```
 * @since 0.1.0
 * @category models
 */
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
  /**
   * Where to register this node and look others up (see `Registrar`; `rain/Etcd` for a fleet).
   * The node announces its applications there as they start and stop, and treats a node the
   * registrar says has left as down (it disconnects). A `Registrar.Basic` gets the cluster
   * operations in memory (`Registrar.make`).
   */
  readonly registrar?: Registrar | Basic | undefined
  /** Behaviours other nodes may spawn here, by their `name`. */
  readonly allowSpawn?: ReadonlyArray<SpawnableBehaviour> | undefined
  /** Applications other nodes may start here (`node.startRemoteApplication`), by their spec. */
  readonly allowApplications?: ReadonlyArray<ApplicationSpec> | undefined
  /** Schema classes that may cross nodes (both nodes must list them). */
  readonly messages?: ReadonlyArray<WireClass> | undefined
  /** How long a connection attempt (lookup, connect and handshake) may take; default 5 seconds. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /**
   * Like Erlang's net_ticktime: a connection that received nothing for this long is
   * considered lost (links and monitors fire); an idle one sends a tick every quarter
   * of it. Default 20 seconds. Both run on the node's `Clock`.
   */
  readonly tickTime?: Duration.DurationInput | undefined
  /**
   * After a call, a reply or an important send leaves for another node, the node keeps
   * polling its connections this long instead of sleeping, as BEAM's schedulers spin before
   * they sleep (`+sbwt`): the answer, or the caller's next request, is read as it arrives
   * rather than after the operating system wakes the thread. Sequential remote calls go
   * from ~7k to ~20k a second on a 2-core VM. The cost is CPU while nothing comes: up to
   * this long after each such write (the event loop runs timers and I/O meanwhile). One-way
   * sends do not wait. Default 100 microseconds; `0` turns it off (a node on a busy shared
   * host, or on battery).
   *
   * @example
   * ```ts
   * Node.start("a@127.0.0.1", { network: { cookie: "secret", busyWait: "50 micros" } })
   * ```
   */
  readonly busyWait?: Duration.DurationInput | undefined
  /**
   * The most other nodes this node keeps connected (Ergo's `Network.MaxNodes`; default: no
   * limit). A connection beyond it, dialled by either side, is refused in the handshake with
   * reason `too_many_nodes`, logged once on each side, and the sender's call fails with
   * `NoConnection` naming that reason. Connections that are up are never dropped to make room.
   */
  readonly maxNodes?: number | undefined
}

/**
 * Any behaviour that `NetworkOptions.allowSpawn` takes (its handlers' services must be
 * none: a remote spawn provides nothing).
 *
 * @since 0.1.0
 * @category models
 */
export interface SpawnableBehaviour {
  readonly name: string
  readonly init: (args: any, ctx: any) => unknown
}

/**
 * The node could not start listening (or register with its registrar).
 *
 * @since 0.1.0
 * @category errors
 */
export class NetworkError extends Schema.TaggedError<NetworkError>()("NetworkError", {
  node: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Node ${this.node} could not start its network: ${this.reason}. Check network.host/port (port 0 picks a free one) and the registrar port.`
  }
}

/**
 * One connection to another node, as `node.connections` reports it.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConnectionInfo {
  /** The peer node's name. */
  readonly node: string
  /** The peer's incarnation (`creation`): a restarted peer has a new one. */
  readonly creation: number
  /** The peer's transport address (`127.0.0.1:53012`). */
  readonly address: string
  /** Which side opened the connection. */
  readonly dialled: "this node" | "the peer"
  /** When the connection came up (ms since the epoch, on the node's Clock). */
  readonly since: number
  /** Frames received and sent: messages, calls, replies, link/monitor signals, ticks. */
  readonly framesIn: number
  readonly framesOut: number
  /** Bytes read and written on the transport, framing included. */
  readonly bytesIn: number
  readonly bytesOut: number
  /** Whether the connection negotiated compression. */
  readonly compression: boolean
}

/**
 * The node's connections against its `network.maxNodes` limit.
 *
 * @since 0.2.0
 * @category models
 */
export interface Connections {
  /** How many nodes are connected now. */
  readonly count: number
  /** `network.maxNodes` (Infinity without a limit, and 0 for a node without network). */
  readonly maxNodes: number
  readonly peers: ReadonlyArray<ConnectionInfo>
}
