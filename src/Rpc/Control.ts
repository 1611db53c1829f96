/**
 * The node control plane: an `@effect/rpc` `RpcGroup` of node operations (ping, node info
 * and metrics, process listing and inspection, supervision trees, applications, remote
 * spawn, exit signals, test messages), served by every node with distribution enabled on
 * its own listener, and authenticated by the cookie with the node handshake's HMAC
 * challenge/response (the cookie never crosses the wire). `client` connects to a node with
 * the cookie and gives a plain `RpcClient` of the group; the `rain` command line is built on it.
 *
 * Why rpc here and not for messages: see DESIGN.md, The wire. Each rpc costs 100-250 µs of
 * CPU per side, which is nothing for an administrator's request and far too much for a
 * message; remote spawn and application start between nodes stay on the data plane (they
 * set up links and monitors in the same frame), the control plane offers them to clients
 * that are not nodes.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Control } from "rain/Rpc"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Control.client({ host: "127.0.0.1", port: 4370, cookie: "secret" })
 *   const { total, processes } = yield* node.Processes({ sort: "mailbox", limit: 10 })
 *   console.log(total, processes.map((p) => p.pid))
 * }))
 * ```
 * @since 0.2.0
 */
import { Rpc, RpcGroup } from "@effect/rpc"
import type { RpcClient, RpcClientError } from "@effect/rpc"
import type { Protocol as RpcClientProtocol } from "@effect/rpc/RpcClient"
import type { Duration, Effect, Scope } from "effect"
import { Context, Layer, Schema } from "effect"
import type { Transport } from "../Transport/index.js"
import * as internal from "./internal/controlClient.js"

// --- errors -----------------------------------------------------------------------------

/**
 * No process has that pid or registered name on the node.
 *
 * @since 0.2.0
 * @category errors
 */
export class ProcessNotFound extends Schema.TaggedError<ProcessNotFound>()("rain/Rpc/ProcessNotFound", {
  node: Schema.String,
  process: Schema.String
}) {
  override get message(): string {
    return `No process ${this.process} on ${this.node}: it has exited or never existed. ` +
      `Give a pid as <node.id.creation> (or its id alone) or a registered name; list them with Processes (rain ps).`
  }
}

/**
 * The node refused an operation: a behaviour it does not allow to spawn, an application it
 * does not have or that failed, an argument it cannot use. `reason` says which and what to do.
 *
 * @since 0.2.0
 * @category errors
 */
export class OperationFailed extends Schema.TaggedError<OperationFailed>()("rain/Rpc/OperationFailed", {
  node: Schema.String,
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.operation} on ${this.node} failed: ${this.reason}`
  }
}

/**
 * Connecting to a node's control plane failed: unreachable, refused, not a Rain node, or
 * (with `reason` "cookie") the cookies differ.
 *
 * @since 0.2.0
 * @category errors
 */
export class ControlConnectFailed extends Schema.TaggedError<ControlConnectFailed>()("rain/Rpc/ControlConnectFailed", {
  address: Schema.String,
  reason: Schema.Literal("unreachable", "cookie", "refused", "name", "options"),
  detail: Schema.String
}) {
  override get message(): string {
    switch (this.reason) {
      case "unreachable":
        return `Cannot reach a node at ${this.address}: ${this.detail}. Is the node running, with network enabled, on that port?`
      case "cookie":
        return `The node at ${this.address} refused the cookie: ${this.detail}. Pass the node's cookie (--cookie or RAIN_COOKIE).`
      case "name":
        return `The node at ${this.address} is not the one asked for: ${this.detail}.`
      case "refused":
        return `The node at ${this.address} refused the control connection: ${this.detail}.`
      case "options":
        return `Control client options for ${this.address}: ${this.detail}.`
    }
  }
}

// --- models -----------------------------------------------------------------------------

/**
 * How `Processes` sorts: by pid (oldest first), mailbox depth, handled messages, messages
 * handled per second (`rate`), memory estimate (largest first), or status (furthest along
 * its life first: dead, exiting, suspended, waiting, running, scheduled, idle, init).
 *
 * @since 0.2.0
 * @category models
 */
export const SortBy = Schema.Literal("pid", "mailbox", "messages", "rate", "memory", "status")

/**
 * @since 0.2.0
 * @category models
 */
export type SortBy = typeof SortBy.Type

/**
 * One row of the process table.
 *
 * @since 0.2.0
 * @category models
 */
export class ProcessRow extends Schema.Class<ProcessRow>("rain/Rpc/ProcessRow")({
  /** `<node.id.creation>` */
  pid: Schema.String,
  id: Schema.Number,
  name: Schema.optional(Schema.String),
  behaviour: Schema.String,
  status: Schema.String,
  /** Messages waiting, all lanes. */
  mailbox: Schema.Number,
  /** Messages (and calls) handled. */
  messagesIn: Schema.Number,
  /**
   * Messages handled per second since the node last listed this process (to any client, at
   * least 200 ms before); null the first time it is listed.
   */
  rate: Schema.NullOr(Schema.Number),
  messagesOut: Schema.Number,
  /** A rough estimate, in bytes, of what the process holds: its state and its queued messages. */
  memory: Schema.Number,
  uptimeMillis: Schema.Number
}) {}

/**
 * A page of the process table.
 *
 * @since 0.2.0
 * @category models
 */
export class ProcessPage extends Schema.Class<ProcessPage>("rain/Rpc/ProcessPage")({
  /** Live processes on the node. */
  total: Schema.Number,
  /** Processes that match the filter. */
  matched: Schema.Number,
  offset: Schema.Number,
  processes: Schema.Array(ProcessRow)
}) {}

/**
 * One message a traced process handled: when (node clock, millis since the epoch), as what
 * (`message`, `call` or `info`, the handler it went to), and the message rendered on one
 * line and cut to 500 characters.
 *
 * @since 0.2.0
 * @category models
 */
export const TraceEntry = Schema.Struct({
  at: Schema.Number,
  kind: Schema.Literal("message", "call", "info"),
  message: Schema.String
})

/**
 * @since 0.2.0
 * @category models
 */
export type TraceEntry = typeof TraceEntry.Type

/**
 * One process in detail.
 *
 * @since 0.2.0
 * @category models
 */
export class ProcessDetail extends Schema.Class<ProcessDetail>("rain/Rpc/ProcessDetail")({
  row: ProcessRow,
  mailboxLanes: Schema.Struct({ urgent: Schema.Number, system: Schema.Number, main: Schema.Number, log: Schema.Number }),
  links: Schema.Array(Schema.String),
  /** Processes this one monitors. */
  monitors: Schema.Array(Schema.String),
  /** Processes that monitor this one. */
  monitoredBy: Schema.Array(Schema.String),
  trapExit: Schema.Boolean,
  /** The process that spawned it (its supervisor, for a supervised process). */
  parent: Schema.optional(Schema.String),
  /** The state, rendered (`util.inspect`) and cut to `stateLimit` characters. */
  state: Schema.String,
  stateTruncated: Schema.Boolean,
  /** What the behaviour's `describe` says, rendered and cut the same way. */
  detail: Schema.optional(Schema.String),
  /** The last messages it handled, oldest first, while tracing is on (`Trace`, `Process.trace`); absent when off. */
  trace: Schema.optional(Schema.Struct({ last: Schema.Number, entries: Schema.Array(TraceEntry) }))
}) {}

/**
 * A connection to another node.
 *
 * @since 0.2.0
 * @category models
 */
export class Connection extends Schema.Class<Connection>("rain/Rpc/Connection")({
  node: Schema.String,
  creation: Schema.Number,
  address: Schema.String,
  dialled: Schema.String,
  since: Schema.Number,
  framesIn: Schema.Number,
  framesOut: Schema.Number,
  bytesIn: Schema.Number,
  bytesOut: Schema.Number,
  compression: Schema.Boolean
}) {}

/**
 * A node, its figures and its connections.
 *
 * @since 0.2.0
 * @category models
 */
export class NodeInfo extends Schema.Class<NodeInfo>("rain/Rpc/NodeInfo")({
  node: Schema.String,
  creation: Schema.Number,
  address: Schema.String,
  uptimeMillis: Schema.Number,
  processCount: Schema.Number,
  registeredNames: Schema.Number,
  messagesIn: Schema.Number,
  messagesOut: Schema.Number,
  /** Messages handled per second since the node started. */
  messageRate: Schema.Number,
  /** V8's used heap of the OS process, bytes. */
  memoryUsage: Schema.Number,
  droppedMessages: Schema.Struct({ mailboxFull: Schema.Number, undecodable: Schema.Number }),
  /** `network.maxNodes`; -1 when there is no limit. */
  maxNodes: Schema.Number,
  connections: Schema.Array(Connection),
  /** Behaviours `Spawn` may start (`network.allowSpawn`). */
  spawnable: Schema.Array(Schema.String)
}) {}

/**
 * One line of a supervision tree, depth first: a supervisor's child (with its restart count)
 * or the application's root supervisor (depth 0).
 *
 * @since 0.2.0
 * @category models
 */
export class TreeNode extends Schema.Class<TreeNode>("rain/Rpc/TreeNode")({
  depth: Schema.Number,
  id: Schema.String,
  pid: Schema.optional(Schema.String),
  type: Schema.Literal("worker", "supervisor"),
  behaviour: Schema.String,
  restart: Schema.String,
  /** Times this child was restarted by its supervisor (a supervisor's own: the restarts it made in its current period). */
  restarts: Schema.Number,
  /** A supervisor's strategy. */
  strategy: Schema.optional(Schema.String)
}) {}

/**
 * An application on the node and, while it runs, its supervision tree.
 *
 * @since 0.2.0
 * @category models
 */
export class ApplicationTree extends Schema.Class<ApplicationTree>("rain/Rpc/ApplicationTree")({
  name: Schema.String,
  version: Schema.String,
  description: Schema.String,
  state: Schema.Literal("loaded", "running", "stopped"),
  mode: Schema.optional(Schema.String),
  uptimeMillis: Schema.Number,
  tree: Schema.Array(TreeNode)
}) {}

/**
 * A process as rpc payloads name it: a pid (`<node.id.creation>`, or its `id` alone) or a
 * registered name.
 *
 * @since 0.2.0
 * @category models
 */
export const ProcessSelector = Schema.String.pipe(Schema.minLength(1))

// --- the group --------------------------------------------------------------------------

/**
 * The node's name, creation and clock.
 *
 * @since 0.2.0
 * @category rpcs
 */
export class Ping extends Rpc.make("Ping", {
  success: Schema.Struct({ node: Schema.String, creation: Schema.Number, time: Schema.Number })
}) {}

/**
 * The node's figures and connections.
 *
 * @since 0.2.0
 * @category rpcs
 */
export class Info extends Rpc.make("Info", { success: NodeInfo }) {}

/**
 * A page of the process table, sorted and filtered on the node (so that 100k processes cost
 * the client one page).
 *
 * @since 0.2.0
 * @category rpcs
 */
export class Processes extends Rpc.make("Processes", {
  payload: {
    offset: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
    /** 1 to 1000 (default 50). */
    limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 1000))),
    sort: Schema.optional(SortBy),
    /** Substring of the registered name or pid (case-insensitive). */
    name: Schema.optional(Schema.String),
    /** Substring of the behaviour's name (case-insensitive). */
    behaviour: Schema.optional(Schema.String)
  },
  success: ProcessPage
}) {}

/**
 * One process in detail; its state rendered and cut to `stateLimit` characters (default 4096).
 *
 * @since 0.2.0
 * @category rpcs
 */
export class Process extends Rpc.make("Process", {
  payload: { process: ProcessSelector, stateLimit: Schema.optional(Schema.Int.pipe(Schema.between(16, 1_000_000))) },
  success: ProcessDetail,
  error: ProcessNotFound
}) {}

/**
 * Turns a process's message trace on (`last`: keep its last 1 to 10000 handled messages) or
 * off (`last: 0`), as `Process.trace`/`Process.untrace` do; the trace shows in `Process`.
 *
 * @since 0.2.0
 * @category rpcs
 */
export class Trace extends Rpc.make("Trace", {
  payload: { process: ProcessSelector, last: Schema.Int.pipe(Schema.between(0, 10_000)) },
  error: ProcessNotFound
}) {}

/**
 * Every application on the node with the supervision tree of the running ones.
 *
 * @since 0.2.0
 * @category rpcs
 */
export class Tree extends Rpc.make("Tree", { success: Schema.Array(ApplicationTree) }) {}

/**
 * The applications on the node (`Application.which`), without trees.
 *
 * @since 0.2.0
 * @category rpcs
 */
export class WhichApplications extends Rpc.make("WhichApplications", {
  success: Schema.Array(ApplicationTree)
}) {}

/**
 * Starts an application loaded on the node or in its `network.allowApplications`; returns
 * the root supervisor's pid.
 *
 * @since 0.2.0
 * @category rpcs
 */
export class StartApplication extends Rpc.make("StartApplication", {
  payload: { name: Schema.String, mode: Schema.optional(Schema.Literal("temporary", "transient", "permanent")) },
  success: Schema.String,
  error: OperationFailed
}) {}

/**
 * Stops a running application.
 *
 * @since 0.2.0
 * @category rpcs
 */
export class StopApplication extends Rpc.make("StopApplication", {
  payload: { name: Schema.String },
  error: OperationFailed
}) {}

/**
 * Spawns a behaviour the node allows (`network.allowSpawn`, as remote spawn does), optionally
 * registered under `name`; returns its pid.
 *
 * @since 0.2.0
 * @category rpcs
 */
export class Spawn extends Rpc.make("Spawn", {
  payload: { behaviour: Schema.String, args: Schema.optional(Schema.Unknown), name: Schema.optional(Schema.String) },
  success: Schema.String,
  error: OperationFailed
}) {}

/**
 * Sends an exit signal to a process: `kill` (the default; cannot be trapped), `shutdown`,
 * `normal`, or any other text as an error reason. Waits (up to 5 s) until it has exited
 * when the reason is `kill`.
 *
 * @since 0.2.0
 * @category rpcs
 */
export class Exit extends Rpc.make("Exit", {
  payload: { process: ProcessSelector, reason: Schema.optional(Schema.String) },
  error: ProcessNotFound
}) {}

/**
 * Sends a test message to a process, as `node.send` would (without waiting for room in a full
 * mailbox: that fails with `OperationFailed`): the plain value as it decoded (msgpack data).
 *
 * @since 0.2.0
 * @category rpcs
 */
export class Send extends Rpc.make("Send", {
  payload: { process: ProcessSelector, message: Schema.Unknown },
  error: Schema.Union(ProcessNotFound, OperationFailed)
}) {}

/**
 * The control plane's operations. Their tags are short (`client.Processes(...)`): they name
 * rpcs of this group on its own connection, not classes in the node's wire registry.
 *
 * @since 0.2.0
 * @category rpcs
 */
export class Rpcs extends RpcGroup.make(
  Ping,
  Info,
  Processes,
  Process,
  Trace,
  Tree,
  WhichApplications,
  StartApplication,
  StopApplication,
  Spawn,
  Exit,
  Send
) {}

// --- the client -------------------------------------------------------------------------

/**
 * Where and how to reach a node's control plane.
 *
 * @since 0.2.0
 * @category models
 */
export interface ClientOptions {
  readonly host: string
  readonly port: number
  readonly cookie: string
  /** When given, the node must have this name (`name@host`), else `ControlConnectFailed` ("name"). */
  readonly node?: string | undefined
  /** The node's transport when it is not plain TCP (TLS, ...): `Transport.tls({ ... })`. */
  readonly transport?: Transport | undefined
  /** Time allowed to connect and prove the cookie (default 5 seconds). */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * A connected control client: the `RpcClient` of `Rpcs`, plus the node's name.
 *
 * @since 0.2.0
 * @category models
 */
export type Client = RpcClient.RpcClient<RpcGroup.Rpcs<typeof Rpcs>, RpcClientError.RpcClientError> & {
  readonly node: string
}

/**
 * Connects to a node's control plane and proves the cookie: a scoped `RpcClient` of `Rpcs`.
 * An unreachable node or a wrong cookie fails here, with `ControlConnectFailed`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Control } from "rain/Rpc"
 *
 * // the five processes with the longest mailboxes on a running node
 * const busiest = Effect.scoped(Effect.gen(function*() {
 *   const admin = yield* Control.client({ host: "127.0.0.1", port: 4370, cookie: "secret", node: "app@127.0.0.1" })
 *   const { processes } = yield* admin.Processes({ sort: "mailbox", limit: 5 })
 *   return processes.map((p) => `${p.pid} ${p.name ?? p.behaviour}: ${p.mailbox}`)
 * }))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const client: (options: ClientOptions) => Effect.Effect<Client, ControlConnectFailed, Scope.Scope> =
  internal.client

/**
 * The `RpcClient.Protocol` of a node's control plane, for building a client with
 * `RpcClient.make(Control.Rpcs)` yourself (with middleware, say).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerProtocol: (options: ClientOptions) => Layer.Layer<RpcClientProtocol, ControlConnectFailed> =
  internal.layerProtocol

/**
 * A connected control client as a service (see {@link layer}).
 *
 * @since 0.2.0
 * @category tags
 */
export class ControlClient extends Context.Tag("rain/Rpc/ControlClient")<ControlClient, Client>() {}

/**
 * `client` as a `Layer`: connects when built, disconnects when released.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Control } from "rain/Rpc"
 *
 * const processes = Effect.flatMap(Control.ControlClient, (node) => node.Processes({ sort: "memory" }))
 * const program = Effect.provide(processes, Control.layer({ host: "127.0.0.1", port: 4370, cookie: "secret" }))
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layer = (options: ClientOptions): Layer.Layer<ControlClient, ControlConnectFailed> =>
  Layer.scoped(ControlClient, client(options))
