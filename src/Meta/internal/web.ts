/**
 * The web server meta process: a process that owns an `@effect/platform` `HttpServer`
 * (`NodeHttpServer`). Each request becomes a `WebRequest` call to a handler process (or
 * one of a pool, in turn), or runs an `HttpApp`. Bad requests get a 4xx whose body says
 * why; a handler that crashes or does not answer in time gets the request a 500/504, and
 * the server goes on serving. Stopping it stops accepting, lets in-flight requests finish
 * within `shutdownTimeout`, then cuts what is left and releases the port.
 *
 * @internal
 */
import type { HttpApp } from "@effect/platform"
import { FileSystem, HttpIncomingMessage, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeHttpServerRequest } from "@effect/platform-node"

import { Cause, Deferred, Duration, Effect, Exit, Option, Scope } from "effect"
import * as Http from "node:http"
import type { Duplex } from "node:stream"
import type { Behaviour } from "../../Process/Behaviour.js"
import { reply } from "../../Process/Behaviour.js"
import type { Context } from "../../Process/Context.js"
import type { CallError } from "../../Process/errors.js"
import * as Reason from "../../Process/ExitReason.js"
import type { Address, Pid } from "../../Process/Pid.js"
import type { WebServerInfo, WebServerSpec, WebSocketSpec } from "../types.js"
import { GetAddress, InvalidSpec, ListenFailed, SocketAddress, WebRequest, WebResponse } from "../types.js"
import { badPort, formatAddress, inScope, ownedScope } from "./resource.js"
import { WebSocketConnection } from "./ws.js"

interface State {
  readonly scope: Scope.CloseableScope
  readonly server: Http.Server
  readonly address: SocketAddress
  readonly shutdownMillis: number
  readonly live: Live
}

/** The counters the server's Node listeners update (shared with the state, mutable). */
interface Live {
  connections: number
  inFlight: number
  served: number
  closing: boolean
  /** Called when the last in-flight request has finished while closing. */
  drained: (() => void) | undefined
  /** WebSocket connection processes, by pid string. */
  readonly webSockets: Map<string, Pid>
}

const MiB = 1024 * 1024

const validate = (spec: WebServerSpec): InvalidSpec | undefined => {
  const invalid = (field: string, reason: string) => new InvalidSpec({ kind: "WebServer", field, reason })
  if (spec === null || typeof spec !== "object") return invalid("spec", "must be an object { port, handler }")
  const port = badPort(spec.port)
  if (port !== undefined) return invalid("port", port)
  if (spec.handler === undefined || spec.handler === null) {
    return invalid("handler", "is missing: give a process address, an array of them, or an HttpApp")
  }
  if (Array.isArray(spec.handler) && spec.handler.length === 0) return invalid("handler", "is an empty pool")
  if (spec.maxBodySize !== undefined && !(Number.isInteger(spec.maxBodySize) && spec.maxBodySize >= 0)) {
    return invalid("maxBodySize", `must be a non-negative integer (got ${String(spec.maxBodySize)})`)
  }
  if (spec.webSocket !== undefined) {
    if (typeof spec.webSocket.path !== "string" || !spec.webSocket.path.startsWith("/")) {
      return invalid("webSocket.path", `must be a path starting with "/" (got ${String(spec.webSocket.path)})`)
    }
    if (spec.webSocket.handler === undefined || spec.webSocket.handler === null) {
      return invalid("webSocket.handler", "is missing: give a process address or a behaviour to spawn per connection")
    }
  }
  for (const field of ["requestTimeout", "shutdownTimeout"] as const) {
    const value = spec[field]
    if (value !== undefined && Option.isNone(Duration.decodeUnknown(value))) {
      return invalid(field, `must be a duration (got ${String(value)})`)
    }
  }
  return undefined
}

const millis = (input: Duration.DurationInput | undefined, fallback: number): number =>
  input === undefined ? fallback : Duration.toMillis(Duration.decode(input))

/** Answers what node's HTTP parser rejects with a status and a body that says why. */
const onClientError = (error: Error & { code?: string }, socket: Duplex): void => {
  if (!socket.writable || (error.code === "ECONNRESET")) {
    socket.destroy()
    return
  }
  const [status, text] = error.code === "HPE_HEADER_OVERFLOW"
    ? [431, "Request Header Fields Too Large"]
    : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
    ? [408, "Request Timeout"]
    : [400, "Bad Request"]
  const body = `${text}: ${error.code ?? "malformed request"}: ${error.message}\n`
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `connection: close\r\n\r\n${body}`
  )
}

const plain = (status: number, body: string) => HttpServerResponse.text(`${body}\n`, { status })

class BodyTooLarge {
  readonly _tag = "BodyTooLarge"
  constructor(readonly limit: number) {}
}
class BodyAborted {
  readonly _tag = "BodyAborted"
  constructor(readonly reason: string) {}
}

/**
 * Reads the whole body, up to `limit` bytes. Past the limit it stops keeping data (the
 * rest is discarded, not buffered) and fails, so a 413 goes out while the socket lives.
 */
const readBody = (source: Http.IncomingMessage, limit: number): Effect.Effect<Uint8Array, BodyTooLarge | BodyAborted> =>
  Effect.async((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const done = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onError)
      source.off("close", onClose)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        done()
        source.resume()
        resume(Effect.fail(new BodyTooLarge(limit)))
      } else chunks.push(chunk)
    }
    const onEnd = () => {
      done()
      resume(Effect.succeed(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
    }
    const onError = (error: Error) => {
      done()
      resume(Effect.fail(new BodyAborted(error.message)))
    }
    const onClose = () => {
      done()
      resume(Effect.fail(new BodyAborted("the client closed the connection before sending the whole body")))
    }
    if (source.readableEnded) return resume(Effect.succeed(new Uint8Array(0)))
    source.on("data", onData)
    source.on("end", onEnd)
    source.on("error", onError)
    source.on("close", onClose)
  })

const noBody: Effect.Effect<Uint8Array> = Effect.succeed(new Uint8Array(0))

const tooLarge = (limit: number) =>
  plain(413, `Payload Too Large: the request body is over this server's limit of ${limit} bytes`)

const fromWebResponse = (response: unknown) => {
  if (response instanceof WebResponse) {
    return typeof response.body === "string"
      ? HttpServerResponse.text(response.body, { status: response.status, headers: response.headers })
      : HttpServerResponse.uint8Array(response.body, { status: response.status, headers: response.headers })
  }
  if (typeof response === "string") return HttpServerResponse.text(response)
  return plain(500, `Internal Server Error: the handler replied with ${typeof response}, not a Meta.WebResponse`)
}

const callFailed = (error: CallError | BodyTooLarge | BodyAborted) => {
  switch (error._tag) {
    case "BodyTooLarge":
      return tooLarge(error.limit)
    case "BodyAborted":
      return plain(400, `Bad Request: ${error.reason}`)
    case "Timeout":
      return plain(504, `Gateway Timeout: the handler did not answer within ${error.millis} ms`)
    case "ProcessExited":
      return plain(500, `Internal Server Error: the handler crashed on this request (${Reason.format(error.reason)})`)
    case "ProcessUnknown":
      return plain(503, `Service Unavailable: the handler ${error.target} is not running`)
    case "MailboxFull":
      return plain(503, "Service Unavailable: the handler is overloaded (its mailbox is full)")
    case "NoConnection":
      return plain(503, `Service Unavailable: the handler's node ${error.node} cannot be reached`)
    default:
      return plain(500, `Internal Server Error: ${error.message}`)
  }
}

const headerRecord = (headers: Http.IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const key in headers) {
    const value = headers[key]
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(", ") : value
  }
  return out
}

/** `new WebRequest(...)` without the Schema constructor's per-instance work: one per request, a hot path. */
const makeRequest = (
  method: string,
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  remoteAddress: string
): WebRequest => {
  const request = Object.create(WebRequest.prototype)
  request.method = method
  request.url = url
  request.headers = headers
  request.body = body
  request.remoteAddress = remoteAddress
  request._tag = "rain/Meta/WebRequest"
  return request
}

/** The app that turns each request into a `WebRequest` call to a handler process (round robin over a pool). */
const processApp = (
  targets: ReadonlyArray<Address<any, WebRequest>>,
  ctx: Context<any, any>,
  timeout: number,
  limit: number
): HttpApp.Default => {
  let next = 0
  return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const source = NodeHttpServerRequest.toIncomingMessage(request)
    const length = Number(source.headers["content-length"] ?? 0)
    if (length > limit) return tooLarge(limit)
    // validate rejects an empty pool, and next stays in [0, targets.length)
    const target = targets[next]!
    next = next + 1 === targets.length ? 0 : next + 1
    const hasBody = length > 0 || source.headers["transfer-encoding"] !== undefined
    return (hasBody ? readBody(source, limit) : noBody).pipe(
      Effect.flatMap((body) =>
        ctx.call(
          target,
          makeRequest(request.method, request.url, headerRecord(source.headers), body, source.socket.remoteAddress ?? ""),
          timeout
        )
      ),
      Effect.flatMap(fromWebResponse),
      Effect.catchAll(callFailed)
    )
  })
}

/** A user's `HttpApp`, with the server's body limit, timeout and a 500 for its failures. */
const userApp = (app: HttpApp.Default<unknown, never>, timeout: number, limit: number): HttpApp.Default =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const length = Number(NodeHttpServerRequest.toIncomingMessage(request).headers["content-length"] ?? 0)
    if (length > limit) return tooLarge(limit)
    return app.pipe(
      Effect.timeoutFail({ duration: timeout, onTimeout: () => "timeout" as const }),
      Effect.catchAllCause((cause) => {
        if (cause._tag === "Fail" && cause.error === "timeout") {
          return plain(504, `Gateway Timeout: the handler did not answer within ${timeout} ms`)
        }
        if (cause._tag === "Fail" && cause.error instanceof HttpServerError.RouteNotFound) {
          return plain(404, `Not Found: no route for ${request.method} ${request.url}`)
        }
        // errors that know their response (HttpServerRespondable) keep it; anything else is a 500
        return Effect.flatMap(HttpServerError.causeResponse(cause), ([response]) =>
          response.status < 500 ? Effect.succeed(response) : plain(500, `Internal Server Error: ${Cause.pretty(cause).split("\n")[0]}`))
      }),
      Effect.provideService(HttpIncomingMessage.MaxBodySize, Option.some(FileSystem.Size(limit)))
    )
  })

/** Upgrades requests to the WebSocket path and spawns a linked connection process for each. */
const webSocketApp = (app: HttpApp.Default, spec: WebSocketSpec, ctx: Context<any, any>, live: Live): HttpApp.Default =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const path = request.url.split("?")[0]
    if (path !== spec.path) return app
    if (request.headers["upgrade"]?.toLowerCase() !== "websocket") {
      return plain(426, `Upgrade Required: ${spec.path} is a WebSocket endpoint`)
    }
    return Effect.gen(function*() {
      const socket = yield* request.upgrade
      const opened = yield* Deferred.make<void, string>()
      const remoteAddress = NodeHttpServerRequest.toIncomingMessage(request).socket.remoteAddress ?? ""
      const pid = yield* ctx.spawnLink(WebSocketConnection, { socket, spec, path, remoteAddress, opened })
      live.webSockets.set(String(pid), pid)
      yield* Deferred.await(opened).pipe(Effect.timeout("10 seconds"))
      return HttpServerResponse.empty()
    }).pipe(Effect.catchAll((error) => plain(400, `Bad Request: the WebSocket upgrade failed: ${String(error)}`)))
  })

const init = (spec: WebServerSpec, ctx: Context<any, any>) =>
  Effect.gen(function*() {
    const invalid = validate(spec)
    if (invalid !== undefined) return yield* invalid
    const host = spec.host ?? "127.0.0.1"
    const timeout = millis(spec.requestTimeout, 30_000)
    const limit = spec.maxBodySize ?? 10 * MiB
    const live: Live = { connections: 0, inFlight: 0, served: 0, closing: false, drained: undefined, webSockets: new Map() }
    if (spec.webSocket !== undefined) yield* ctx.trapExit(true)
    // node answers a request not received within `requestTimeout` with 408 itself
    const server = Http.createServer({
      requestTimeout: timeout,
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(timeout / 4))),
      keepAliveTimeout: 5_000
    })
    server.on("connection", (socket) => {
      live.connections++
      socket.once("close", () => live.connections--)
    })
    // registered before the platform's handler, so that it sees every request first
    server.on("request", (_request: Http.IncomingMessage, response: Http.ServerResponse) => {
      live.inFlight++
      if (live.closing) response.setHeader("connection", "close")
      response.once("close", () => {
        live.inFlight--
        live.served++
        if (live.inFlight === 0 && live.drained !== undefined) live.drained()
      })
    })
    server.on("clientError", onClientError)
    const scope = yield* ownedScope(ctx)
    const platform = yield* inScope(scope, NodeHttpServer.make(() => server, { host, port: spec.port })).pipe(
      Effect.mapError((error) =>
        new ListenFailed({
          kind: "WebServer",
          address: formatAddress(host, spec.port),
          reason: error.cause instanceof Error ? error.cause.message : String(error.cause)
        })
      )
    )
    const handlerApp = Array.isArray(spec.handler) || !Effect.isEffect(spec.handler)
      ? processApp(
        Array.isArray(spec.handler) ? spec.handler : [spec.handler as Address<any, WebRequest>],
        ctx,
        timeout,
        limit
      )
      : userApp(spec.handler as HttpApp.Default<unknown, never>, timeout, limit)
    const app = spec.webSocket === undefined ? handlerApp : webSocketApp(handlerApp, spec.webSocket, ctx, live)
    yield* inScope(scope, platform.serve(app))
    const port = platform.address._tag === "TcpAddress" ? platform.address.port : spec.port
    const state: State = {
      scope,
      server,
      address: new SocketAddress({ host, port }),
      shutdownMillis: millis(spec.shutdownTimeout, 5_000),
      live
    }
    return state
  })

/**
 * Graceful stop: no new connections, idle ones closed, in-flight requests get until the
 * shutdown timeout (their connections close after the response), then the rest are cut
 * and the port is released before the process is gone.
 */
const shutdown = (state: State, ctx: Context<any, any>): Effect.Effect<void> =>
  Effect.gen(function*() {
    const { live, server } = state
    live.closing = true
    // WebSocket connections first: the listener's close waits for every socket it accepted
    yield* Effect.forEach(
      Array.from(live.webSockets.values()),
      (pid) =>
        Effect.zipRight(
          ctx.exit(pid, Reason.shutdown),
          ctx.awaitExit(pid).pipe(
            Effect.timeout(state.shutdownMillis),
            Effect.catchAll(() => Effect.zipRight(ctx.exit(pid, Reason.kill), ctx.awaitExit(pid)))
          )
        ),
      { discard: true, concurrency: "unbounded" }
    )
    const closed = Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
    server.closeIdleConnections()
    if (live.inFlight > 0) {
      yield* Effect.async<void>((resume) => {
        live.drained = () => resume(Effect.void)
      }).pipe(Effect.timeout(state.shutdownMillis), Effect.ignore)
    }
    server.closeAllConnections()
    yield* closed
  }).pipe(Effect.ensuring(Scope.close(state.scope, Exit.void)))

/** @internal */
export const WebServer: Behaviour<State, WebServerSpec, never, GetAddress, InvalidSpec | ListenFailed> = {
  name: "WebServer",
  init,
  handleCall: (_request, _from, state) => Effect.succeed(reply(state.address, state)),
  handleInfo: (info, state, ctx) => {
    if (info._tag !== "Exit") return Effect.succeed(state)
    if (state.live.webSockets.delete(String(info.from))) return Effect.succeed(state)
    // an abnormal exit signal from anyone else (its parent, its supervisor) ends the server, as in gen_server
    return Reason.isNormal(info.reason) ? Effect.succeed(state) : Effect.as(ctx.stop(info.reason), state)
  },
  terminate: (_reason, state, ctx) => shutdown(state, ctx),
  describe: (state): WebServerInfo => ({
    kind: "WebServer",
    address: state.address.toString(),
    port: state.address.port,
    connections: state.live.connections,
    inFlight: state.live.inFlight,
    served: state.live.served,
    closing: state.live.closing,
    webSockets: Array.from(state.live.webSockets.values())
  })
}
