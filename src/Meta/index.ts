/**
 * Meta processes: processes that turn an outside I/O source (an HTTP server, TCP
 * connections) into a process the rest of the system messages, links, monitors and
 * supervises like any other. Spawn them with `node.spawn` / `ctx.spawn` or as supervisor
 * children; `info` shows what they hold (`detail`); stopping them releases their sockets.
 *
 * @example
 * ```ts
 * import { Meta } from "rain"
 *
 * const web = yield* node.spawn(Meta.WebServer, { port: 8080, handler: "api" })
 * const { port } = yield* node.call(web, new Meta.GetAddress())
 * ```
 * @since 0.2.0
 */
import type { Behaviour } from "../Process/Behaviour.js"
import type { GetAddress, InvalidSpec, ListenFailed, WebServerSpec } from "./types.js"
import * as web from "./internal/web.js"

export * from "./types.js"

/**
 * The web server (the seed's `gen.MetaWebServer`): owns an `@effect/platform` HTTP server
 * on `host:port` and serves each request by a `WebRequest` call to its handler process
 * (or pool, or `HttpApp`). Requests past `requestTimeout` get 504, bodies over
 * `maxBodySize` 413, malformed requests 400 (bodies say why); a handler crash gets that
 * request a 500 and the server keeps serving. Stopping it finishes in-flight requests
 * within `shutdownTimeout` and releases the port. Answers `GetAddress`.
 *
 * @example
 * ```ts
 * const Api = Process.make({
 *   name: "Api",
 *   init: () => Effect.succeed(0),
 *   handleCall: (req: Meta.WebRequest, _from, n) =>
 *     Effect.succeed(Process.reply(Meta.WebResponse.text(`${req.method} ${req.path}`), n + 1))
 * })
 * yield* node.spawn(Api, undefined, { name: "api" })
 * const web = yield* node.spawn(Meta.WebServer, { port: 0, handler: "api", requestTimeout: "10 seconds" })
 * ```
 * @since 0.2.0
 * @category web
 */
export const WebServer: Behaviour<unknown, WebServerSpec, never, GetAddress, InvalidSpec | ListenFailed> =
  web.WebServer as Behaviour<any, WebServerSpec, never, GetAddress, InvalidSpec | ListenFailed>
