/**
 * The data of meta processes: the specs they are spawned with, the messages they send
 * and accept, and their errors. Messages are Schema classes, so a handler may run on
 * another node (register them there with `Message.register`).
 *
 * @since 0.2.0
 */
import type { HttpApp } from "@effect/platform"
import type { Duration } from "effect"
import { Schema } from "effect"
import type { Behaviour } from "../Process/Behaviour.js"
import { Pid } from "../Process/Pid.js"
import type { Address } from "../Process/Pid.js"

// ---------------------------------------------------------------------------
// Errors

/**
 * A meta process was spawned with a spec it cannot use (a port out of range, a negative
 * limit, a missing handler). `spawn` fails with `InitFailed` carrying this error.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidSpec extends Schema.TaggedError<InvalidSpec>()("rain/Meta/InvalidSpec", {
  kind: Schema.String,
  field: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.kind}: ${this.field} ${this.reason}. Fix the spec passed to spawn.`
  }
}

/**
 * A meta process could not open its socket (the port is taken, the host is not a local
 * address, permission denied). `spawn` fails with `InitFailed` carrying this error.
 *
 * @since 0.2.0
 * @category errors
 */
export class ListenFailed extends Schema.TaggedError<ListenFailed>()("rain/Meta/ListenFailed", {
  kind: Schema.String,
  address: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.kind} could not listen on ${this.address}: ${this.reason}. Choose a free port (0 picks one) or stop the process holding it.`
  }
}

/**
 * A TCP client could not connect.
 *
 * @since 0.2.0
 * @category errors
 */
export class ConnectFailed extends Schema.TaggedError<ConnectFailed>()("rain/Meta/ConnectFailed", {
  address: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Could not connect to ${this.address}: ${this.reason}. Check that a server listens there.`
  }
}

// ---------------------------------------------------------------------------
// Web server

/**
 * One HTTP request, as the web server's handler process receives it: a call whose reply is
 * a `WebResponse`. The body is read in full (up to the server's `maxBodySize`).
 *
 * @since 0.2.0
 * @category web
 */
export class WebRequest extends Schema.TaggedRequest<WebRequest>()("rain/Meta/WebRequest", {
  failure: Schema.Never,
  success: Schema.suspend(() => WebResponse),
  payload: {
    method: Schema.String,
    /** The path and query, as sent (`/counter?x=1`). */
    url: Schema.String,
    headers: Schema.Record({ key: Schema.String, value: Schema.String }),
    body: Schema.Uint8ArrayFromSelf,
    remoteAddress: Schema.String
  }
}) {
  /** The path without the query. */
  get path(): string {
    const q = this.url.indexOf("?")
    return q < 0 ? this.url : this.url.slice(0, q)
  }
  /** The query parameters. */
  get query(): URLSearchParams {
    const q = this.url.indexOf("?")
    return new URLSearchParams(q < 0 ? "" : this.url.slice(q + 1))
  }
  /**
   * The body as UTF-8 text.
   *
   * @since 0.2.0
   */
  get text(): string {
    return new TextDecoder().decode(this.body)
  }
}

/**
 * What a web handler replies: a status, headers and a body.
 *
 * @example
 * ```ts
 * handleCall: (req: Meta.WebRequest, _from, count) =>
 *   Effect.succeed(Process.reply(Meta.WebResponse.json({ count }), count))
 * ```
 * @since 0.2.0
 * @category web
 */
export class WebResponse extends Schema.Class<WebResponse>("rain/Meta/WebResponse")({
  status: Schema.Number,
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  body: Schema.Union(Schema.String, Schema.Uint8ArrayFromSelf)
}) {
  /**
   * A `text/plain` response.
   *
   * @since 0.2.0
   */
  static text(body: string, status = 200): WebResponse {
    return new WebResponse({ status, headers: { "content-type": "text/plain; charset=utf-8" }, body }, true)
  }
  /**
   * An `application/json` response.
   *
   * @since 0.2.0
   */
  static json(value: unknown, status = 200): WebResponse {
    return new WebResponse({ status, headers: { "content-type": "application/json" }, body: JSON.stringify(value) }, true)
  }
}

/**
 * What serves a web server's requests: a process (or registered name) answering
 * `WebRequest` calls, several of them (a pool, taken in turn), or an `HttpApp` /
 * `HttpRouter` whose handlers may call processes.
 *
 * @since 0.2.0
 * @category web
 */
export type WebHandler =
  | Address<any, WebRequest>
  | ReadonlyArray<Address<any, WebRequest>>
  | HttpApp.Default<unknown, never>

/**
 * How a web server is spawned.
 *
 * @since 0.2.0
 * @category web
 */
export interface WebServerSpec {
  /** Address to listen on (default `127.0.0.1`). */
  readonly host?: string | undefined
  /** Port; 0 picks a free one (read it from `info`'s detail or `Meta.webServerAddress`). */
  readonly port: number
  readonly handler: WebHandler
  /** Longest a request may take, body and handler included: then 504 (default 30 s). */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /** Largest request body in bytes: above it 413 (default 10 MiB). */
  readonly maxBodySize?: number | undefined
  /** On stop, how long in-flight requests may take before their connections are cut (default 5 s). */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
  /** Upgrade requests to this path to WebSocket connections, each a process. */
  readonly webSocket?: WebSocketSpec | undefined
}

/**
 * What `info` shows of a web server (its `detail`).
 *
 * @since 0.2.0
 * @category web
 */
export interface WebServerInfo {
  readonly kind: "WebServer"
  readonly address: string
  readonly port: number
  readonly connections: number
  readonly inFlight: number
  readonly served: number
  readonly closing: boolean
  /** Open WebSocket connections (their processes). */
  readonly webSockets: ReadonlyArray<Pid>
}

// ---------------------------------------------------------------------------
// TCP

/**
 * How a TCP connection cuts its byte stream into messages: `raw` (each chunk as it
 * arrives), `line` (newline-terminated, the newline dropped; writes get one appended),
 * or `{ lengthPrefix: 1 | 2 | 4 }` (a big-endian length before each frame, both ways).
 *
 * @since 0.2.0
 * @category tcp
 */
export type Framing = "raw" | "line" | { readonly lengthPrefix: 1 | 2 | 4 }

/**
 * Data from a TCP connection (one chunk or one frame), sent to the connection's handler.
 *
 * @since 0.2.0
 * @category tcp
 */
export class TcpData extends Schema.TaggedClass<TcpData>()("rain/Meta/TcpData", {
  connection: Pid,
  data: Schema.Uint8ArrayFromSelf
}) {
  /**
   * The data as UTF-8 text.
   *
   * @since 0.2.0
   */
  get text(): string {
    return new TextDecoder().decode(this.data)
  }
}

/**
 * A TCP connection is open (the first message a handler gets from it).
 *
 * @since 0.2.0
 * @category tcp
 */
export class TcpConnected extends Schema.TaggedClass<TcpConnected>()("rain/Meta/TcpConnected", {
  connection: Pid,
  remoteAddress: Schema.String,
  localAddress: Schema.String
}) {}

/**
 * A TCP connection closed (by the peer, on an error, or after `TcpClose`); its process
 * then ends with `normal`. `reason` says why.
 *
 * @since 0.2.0
 * @category tcp
 */
export class TcpClosed extends Schema.TaggedClass<TcpClosed>()("rain/Meta/TcpClosed", {
  connection: Pid,
  reason: Schema.String
}) {}

/**
 * Send this to a connection process to write to its socket (framed as the connection is).
 *
 * @since 0.2.0
 * @category tcp
 */
export class TcpSend extends Schema.TaggedClass<TcpSend>()("rain/Meta/TcpSend", {
  data: Schema.Union(Schema.String, Schema.Uint8ArrayFromSelf)
}) {}

/**
 * Send this to a connection process to close it (after what was sent before is written).
 *
 * @since 0.2.0
 * @category tcp
 */
export class TcpClose extends Schema.TaggedClass<TcpClose>()("rain/Meta/TcpClose", {}) {}

/**
 * What a TCP connection process sends to its handler.
 *
 * @since 0.2.0
 * @category tcp
 */
export type TcpEvent = TcpConnected | TcpData | TcpClosed

/**
 * What a TCP connection process accepts: data to write (bytes or a string, as `gen_tcp:send`;
 * or a `TcpSend`, which can cross nodes) or `TcpClose`.
 *
 * @since 0.2.0
 * @category tcp
 */
export type TcpCommand = TcpSend | TcpClose | Uint8Array | string

/**
 * Who gets a connection's events: one process for every connection (an address), or a
 * behaviour spawned per connection (linked to it; its `init` gets the connection's pid).
 * A per-connection handler should stop on `TcpClosed`.
 *
 * @since 0.2.0
 * @category tcp
 */
export type TcpHandler = Address<TcpEvent, any> | Behaviour<any, Pid, never, never, any, never>

/**
 * How a TCP server is spawned.
 *
 * @since 0.2.0
 * @category tcp
 */
export interface TcpServerSpec {
  /** Address to listen on (default `127.0.0.1`). */
  readonly host?: string | undefined
  /** Port; 0 picks a free one. */
  readonly port: number
  readonly handler: TcpHandler
  /** Default `raw`. */
  readonly framing?: Framing | undefined
  /** Largest frame in bytes (line or length-prefixed); a larger one closes the connection (default 16 MiB). */
  readonly maxFrameSize?: number | undefined
}

/**
 * How a TCP client connection is spawned: it connects in `init` (so `spawn` fails with
 * `ConnectFailed` when nobody listens) and then behaves as an accepted connection.
 *
 * @since 0.2.0
 * @category tcp
 */
export interface TcpClientSpec {
  readonly host: string
  readonly port: number
  readonly handler: TcpHandler
  readonly framing?: Framing | undefined
  readonly maxFrameSize?: number | undefined
  /** Default 5 s. */
  readonly connectTimeout?: Duration.DurationInput | undefined
}

/**
 * What `info` shows of a TCP server.
 *
 * @since 0.2.0
 * @category tcp
 */
export interface TcpServerInfo {
  readonly kind: "TcpServer"
  readonly address: string
  readonly port: number
  readonly connections: ReadonlyArray<Pid>
  readonly accepted: number
}

/**
 * What `info` shows of a TCP connection.
 *
 * @since 0.2.0
 * @category tcp
 */
export interface TcpConnectionInfo {
  readonly kind: "TcpConnection"
  readonly remoteAddress: string
  readonly localAddress: string
  readonly handler: Pid | string
  readonly bytesIn: number
  readonly bytesOut: number
  /** True while reading is paused because the handler's mailbox is full. */
  readonly paused: boolean
}

// ---------------------------------------------------------------------------
// Common

/**
 * The address a listening meta process (web server, TCP server, UDP socket) is bound to.
 *
 * @since 0.2.0
 * @category common
 */
export class SocketAddress extends Schema.Class<SocketAddress>("rain/Meta/SocketAddress")({
  host: Schema.String,
  port: Schema.Number
}) {
  /**
   * `host:port`.
   *
   * @since 0.2.0
   */
  override toString(): string {
    return this.host.includes(":") ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`
  }
}

/**
 * Ask a listening meta process where it listens (useful after spawning on port 0).
 *
 * @example
 * ```ts
 * const web = yield* node.spawn(Meta.WebServer, { port: 0, handler: "api" })
 * const { port } = yield* node.call(web, new Meta.GetAddress())
 * ```
 * @since 0.2.0
 * @category common
 */
export class GetAddress extends Schema.TaggedRequest<GetAddress>()("rain/Meta/GetAddress", {
  failure: Schema.Never,
  success: SocketAddress,
  payload: {}
}) {}

// ---------------------------------------------------------------------------
// WebSocket

/**
 * A WebSocket connection is open (the first message its handler gets).
 *
 * @since 0.2.0
 * @category websocket
 */
export class WsConnected extends Schema.TaggedClass<WsConnected>()("rain/Meta/WsConnected", {
  connection: Pid,
  path: Schema.String,
  remoteAddress: Schema.String
}) {}

/**
 * A WebSocket message: `data` is a string for a text frame, bytes for a binary one.
 *
 * @since 0.2.0
 * @category websocket
 */
export class WsMessage extends Schema.TaggedClass<WsMessage>()("rain/Meta/WsMessage", {
  connection: Pid,
  data: Schema.Union(Schema.String, Schema.Uint8ArrayFromSelf)
}) {}

/**
 * A WebSocket connection closed; its process then ends with `normal`.
 *
 * @since 0.2.0
 * @category websocket
 */
export class WsClosed extends Schema.TaggedClass<WsClosed>()("rain/Meta/WsClosed", {
  connection: Pid,
  code: Schema.Number,
  reason: Schema.String
}) {}

/**
 * Send this to a WebSocket connection process to send a frame (text for a string, binary for bytes).
 *
 * @since 0.2.0
 * @category websocket
 */
export class WsSend extends Schema.TaggedClass<WsSend>()("rain/Meta/WsSend", {
  data: Schema.Union(Schema.String, Schema.Uint8ArrayFromSelf)
}) {}

/**
 * Send this to a WebSocket connection process to close it with a code (default 1000).
 *
 * @since 0.2.0
 * @category websocket
 */
export class WsClose extends Schema.TaggedClass<WsClose>()("rain/Meta/WsClose", {
  code: Schema.optionalWith(Schema.Number, { default: () => 1000 }),
  reason: Schema.optionalWith(Schema.String, { default: () => "" })
}) {}

/**
 * What a WebSocket connection process sends to its handler.
 *
 * @since 0.2.0
 * @category websocket
 */
export type WsEvent = WsConnected | WsMessage | WsClosed

/**
 * Where a web server upgrades WebSocket requests, and who handles each connection: one
 * process for all (an address) or a behaviour spawned per connection (linked; its `init`
 * gets the connection's pid).
 *
 * @since 0.2.0
 * @category websocket
 */
export interface WebSocketSpec {
  /** The path upgraded (exact match, e.g. `/ws`). */
  readonly path: string
  readonly handler: Address<WsEvent, any> | Behaviour<any, Pid, never, never, any, never>
}

/**
 * What `info` shows of a WebSocket connection.
 *
 * @since 0.2.0
 * @category websocket
 */
export interface WsConnectionInfo {
  readonly kind: "WebSocket"
  readonly path: string
  readonly remoteAddress: string
  readonly handler: Pid | string
  readonly messagesIn: number
  readonly messagesOut: number
  readonly paused: boolean
}

// ---------------------------------------------------------------------------
// UDP

/**
 * A datagram received by a UDP socket process, sent to its handler with the sender's address.
 *
 * @since 0.2.0
 * @category udp
 */
export class UdpDatagram extends Schema.TaggedClass<UdpDatagram>()("rain/Meta/UdpDatagram", {
  socket: Pid,
  data: Schema.Uint8ArrayFromSelf,
  from: SocketAddress
}) {
  /**
   * The data as UTF-8 text.
   *
   * @since 0.2.0
   */
  get text(): string {
    return new TextDecoder().decode(this.data)
  }
}

/**
 * Send this to a UDP socket process to send a datagram to `host:port`.
 *
 * @since 0.2.0
 * @category udp
 */
export class UdpSend extends Schema.TaggedClass<UdpSend>()("rain/Meta/UdpSend", {
  host: Schema.String,
  port: Schema.Number,
  data: Schema.Union(Schema.String, Schema.Uint8ArrayFromSelf)
}) {}

/**
 * How a UDP socket process is spawned. Datagrams go to `handler`; one that arrives while
 * the handler's mailbox is full is dropped and counted (UDP is lossy; nothing buffers).
 *
 * @since 0.2.0
 * @category udp
 */
export interface UdpSpec {
  /** Address to bind (default `127.0.0.1`; an IPv6 address binds an IPv6 socket). */
  readonly host?: string | undefined
  /** Port; 0 picks a free one. */
  readonly port: number
  readonly handler: Address<UdpDatagram, any>
}

/**
 * What `info` shows of a UDP socket process.
 *
 * @since 0.2.0
 * @category udp
 */
export interface UdpInfo {
  readonly kind: "Udp"
  readonly address: string
  readonly port: number
  readonly received: number
  readonly sent: number
  /** Datagrams dropped because the handler's mailbox was full. */
  readonly dropped: number
}

// ---------------------------------------------------------------------------
// Port

/**
 * Output of a port's OS process: a line (without its newline) or a chunk, as text, from
 * its stdout or stderr.
 *
 * @since 0.2.0
 * @category port
 */
export class PortData extends Schema.TaggedClass<PortData>()("rain/Meta/PortData", {
  port: Pid,
  stream: Schema.Literal("stdout", "stderr"),
  data: Schema.String
}) {}

/**
 * A port's OS process exited: `status` is its exit code, or `null` with `signal` when a
 * signal ended it. The port process then ends: `normal` for status 0, else with an error
 * reason, so that linked processes get an exit signal.
 *
 * @since 0.2.0
 * @category port
 */
export class PortExited extends Schema.TaggedClass<PortExited>()("rain/Meta/PortExited", {
  port: Pid,
  status: Schema.NullOr(Schema.Number),
  signal: Schema.NullOr(Schema.String)
}) {
  /** What happened, for logs and exit reasons. */
  get description(): string {
    return this.signal === null ? `OS process exited with status ${this.status}` : `OS process killed by ${this.signal}`
  }
}

/**
 * Send this to a port to write to its OS process's stdin (a string as UTF-8).
 *
 * @since 0.2.0
 * @category port
 */
export class PortWrite extends Schema.TaggedClass<PortWrite>()("rain/Meta/PortWrite", {
  data: Schema.Union(Schema.String, Schema.Uint8ArrayFromSelf)
}) {}

/**
 * Send this to a port to close its OS process's stdin (end of input).
 *
 * @since 0.2.0
 * @category port
 */
export class PortCloseInput extends Schema.TaggedClass<PortCloseInput>()("rain/Meta/PortCloseInput", {}) {}

/**
 * How a port (Erlang's `open_port({spawn_executable, ...})`) is spawned.
 *
 * @since 0.2.0
 * @category port
 */
export interface PortSpec {
  readonly command: string
  readonly args?: ReadonlyArray<string> | undefined
  readonly cwd?: string | undefined
  /** Added to the inherited environment. */
  readonly env?: Record<string, string> | undefined
  /** Who gets `PortData` and `PortExited`. */
  readonly handler: Address<PortData | PortExited, any>
  /** `lines` (default) or `chunks` (as read). */
  readonly output?: "lines" | "chunks" | undefined
  /** On stop, how long the OS process gets after SIGTERM before SIGKILL (default 2 s). */
  readonly killTimeout?: Duration.DurationInput | undefined
}

/**
 * What `info` shows of a port.
 *
 * @since 0.2.0
 * @category port
 */
export interface PortInfo {
  readonly kind: "Port"
  readonly command: string
  readonly osPid: number
  readonly running: boolean
}
