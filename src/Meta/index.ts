/**
 * Meta processes: processes that turn an outside I/O source (an HTTP server, TCP
 * connections) into a process the rest of the system messages, links, monitors and
 * supervises like any other. Spawn them with `node.spawn` / `ctx.spawn` or as supervisor
 * children; `info` shows what they hold (`detail`); stopping them releases their sockets.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node } from "rain"
 * import * as Meta from "rain/Meta"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("web@localhost")
 *   const web = yield* node.spawn(Meta.WebServer, { port: 8080, handler: "api" })
 *   const { port } = yield* node.call(web, new Meta.GetAddress())
 * }))
 * ```
 * @since 0.2.0
 */
import type { Behaviour } from "../Process/Behaviour.js"
import type { SpawnError } from "../Process/errors.js"
import * as port from "./internal/port.js"
import * as tcp from "./internal/tcp.js"
import * as udp from "./internal/udp.js"
import * as web from "./internal/web.js"
import type {
  ConnectFailed,
  GetAddress,
  InvalidSpec,
  ListenFailed,
  PortCloseInput,
  PortSpec,
  PortWrite,
  TcpClientSpec,
  TcpCommand,
  TcpServerSpec,
  UdpSend,
  UdpSpec,
  WebServerSpec
} from "./types.js"

/**
 * The meta processes' specs, messages and errors (`WebServerSpec`, `WebRequest`, `WebResponse`,
 * `TcpData`, `PortData`, ...).
 *
 * @since 0.2.0
 * @category models
 */
export * from "./types.js"

/**
 * The web server: owns an `@effect/platform` HTTP server
 * on `host:port` and serves each request by a `WebRequest` call to its handler process
 * (or pool, or `HttpApp`). Requests past `requestTimeout` get 504, bodies over
 * `maxBodySize` 413, malformed requests 400 (bodies say why); a handler crash gets that
 * request a 500 and the server keeps serving. Stopping it finishes in-flight requests
 * within `shutdownTimeout` and releases the port. Answers `GetAddress`. With `webSocket`,
 * requests to that path are upgraded and each connection becomes a linked process: its
 * handler gets `WsConnected`, `WsMessage` per frame and `WsClosed`; `WsSend` / `WsClose`
 * sent to it go out; it ends when the socket closes and closes the socket when it ends.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node, Process } from "rain"
 * import * as Meta from "rain/Meta"
 *
 * const Api = Process.make({
 *   name: "Api",
 *   init: () => Effect.succeed(0),
 *   handleCall: (req: Meta.WebRequest, _from, n) =>
 *     Effect.succeed(Process.reply(Meta.WebResponse.text(`${req.method} ${req.path}`), n + 1))
 * })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("web@localhost")
 *   yield* node.spawn(Api, undefined, { name: "api" })
 *   const web = yield* node.spawn(Meta.WebServer, { port: 0, handler: "api", requestTimeout: "10 seconds" })
 * }))
 * ```
 * @since 0.2.0
 * @category web
 */
export const WebServer: Behaviour<unknown, WebServerSpec, never, GetAddress, InvalidSpec | ListenFailed> =
  web.WebServer as Behaviour<any, WebServerSpec, never, GetAddress, InvalidSpec | ListenFailed>

/**
 * A TCP server: owns an `@effect/platform` socket server on `host:port` and spawns a
 * linked connection process per accepted socket. Each connection sends its handler
 * `TcpConnected`, then `TcpData` per chunk or frame (`framing`: `raw`, `line`, or
 * `{ lengthPrefix }`), then `TcpClosed`; `TcpSend` / `TcpClose` sent to the connection
 * write or close. When the handler's mailbox (`mailboxSize`) is full, the connection stops
 * reading from its socket until there is room. Stopping the server closes its connections
 * and releases the port. Answers `GetAddress`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node, Process } from "rain"
 * import * as Meta from "rain/Meta"
 *
 * const Echo = Process.make({
 *   name: "Echo",
 *   init: (_connection: Process.Pid) => Effect.void,
 *   handleMessage: (event: Meta.TcpEvent, state, ctx) =>
 *     event._tag === "rain/Meta/TcpData" ? Effect.as(ctx.send(event.connection, new Meta.TcpSend({ data: event.data })), state)
 *     : event._tag === "rain/Meta/TcpClosed" ? ctx.stop()
 *     : Effect.void
 * })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("echo@localhost")
 *   const server = yield* node.spawn(Meta.TcpServer, { port: 7000, handler: Echo, framing: "line" })
 * }))
 * ```
 * @since 0.2.0
 * @category tcp
 */
export const TcpServer: Behaviour<unknown, TcpServerSpec, never, GetAddress, InvalidSpec | ListenFailed> =
  tcp.TcpServer as Behaviour<any, TcpServerSpec, never, GetAddress, InvalidSpec | ListenFailed>

/**
 * A TCP client connection: connects to `host:port` in `init` (`spawn` fails with
 * `ConnectFailed` when it cannot), then behaves as an accepted connection: events to its
 * handler, `TcpSend` / `TcpClose` to it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Process } from "rain"
 * import * as Meta from "rain/Meta"
 *
 * // a process that connects in its init, says hello, and is handed the connection's events
 * const Client = Process.make({
 *   name: "Client",
 *   init: (_: void, ctx) =>
 *     Effect.gen(function*() {
 *       const conn = yield* ctx.spawnLink(Meta.TcpClient, {
 *         host: "127.0.0.1", port: 7000, handler: ctx.self, framing: "line"
 *       })
 *       yield* ctx.send(conn, new Meta.TcpSend({ data: "hello" }))
 *       return conn
 *     }),
 *   handleMessage: (_event: Meta.TcpEvent, conn) => Effect.succeed(conn)
 * })
 * ```
 * @since 0.2.0
 * @category tcp
 */
export const TcpClient: Behaviour<unknown, TcpClientSpec, TcpCommand, never, InvalidSpec | ConnectFailed | SpawnError> =
  tcp.TcpClient as Behaviour<any, TcpClientSpec, TcpCommand, never, InvalidSpec | ConnectFailed | SpawnError>

/**
 * A UDP socket bound to `host:port`: each datagram goes to `handler` as `UdpDatagram`
 * (with the sender's address); `UdpSend` sent to it sends a datagram. A datagram arriving
 * while the handler's mailbox is full is dropped and counted in `info`. Stopping it closes
 * the socket. Answers `GetAddress`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Process } from "rain"
 * import * as Meta from "rain/Meta"
 *
 * // a process that binds a socket in its init, pings, and is handed the replies
 * const Pinger = Process.make({
 *   name: "Pinger",
 *   init: (_: void, ctx) =>
 *     Effect.gen(function*() {
 *       const udp = yield* ctx.spawnLink(Meta.Udp, { port: 0, handler: ctx.self })
 *       yield* ctx.send(udp, new Meta.UdpSend({ host: "127.0.0.1", port: 9999, data: "ping" }))
 *       return udp
 *     }),
 *   handleMessage: (_datagram: Meta.UdpDatagram, udp) => Effect.succeed(udp)
 * })
 * ```
 * @since 0.2.0
 * @category udp
 */
export const Udp: Behaviour<unknown, UdpSpec, UdpSend, GetAddress, InvalidSpec | ListenFailed> =
  udp.Udp as Behaviour<any, UdpSpec, UdpSend, GetAddress, InvalidSpec | ListenFailed>

/**
 * A port (Erlang's ports): runs an OS process with `@effect/platform` `Command`. Its
 * stdout and stderr reach `handler` as `PortData` (lines, or chunks), then its end as
 * `PortExited`; `PortWrite` sent to the port writes to its stdin, `PortCloseInput` closes
 * it. The port ends when the OS process exits (`normal` for status 0, else with an error,
 * so linked processes get an exit signal), and stopping the port stops the OS process.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Process } from "rain"
 * import * as Meta from "rain/Meta"
 *
 * // a process that runs `sort` in its init and is handed its output
 * const Sorter = Process.make({
 *   name: "Sorter",
 *   init: (_: void, ctx) =>
 *     Effect.gen(function*() {
 *       const port = yield* ctx.spawnLink(Meta.Port, { command: "sort", handler: ctx.self })
 *       yield* ctx.send(port, new Meta.PortWrite({ data: "b\na\n" }))
 *       yield* ctx.send(port, new Meta.PortCloseInput())   // PortData "a", "b", then PortExited
 *       return port
 *     }),
 *   handleMessage: (_event: Meta.PortData | Meta.PortExited, port) => Effect.succeed(port)
 * })
 * ```
 * @since 0.2.0
 * @category port
 */
export const Port: Behaviour<unknown, PortSpec, PortWrite | PortCloseInput, never, InvalidSpec> =
  port.Port as Behaviour<any, PortSpec, PortWrite | PortCloseInput, never, InvalidSpec>
