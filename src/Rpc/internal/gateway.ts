/**
 * The gateway server process: an `RpcServer` for the group of every exposed process, on an
 * `@effect/platform` HTTP server (`POST path` for HTTP, `GET path` upgraded to WebSocket)
 * and, with `socketPort`, on a raw `SocketServer`. Each rpc handler is a `ctx.call` to the
 * registered name; the call's failures are the rpc's typed errors (see `Gateway.CallError`),
 * so a client never hangs on a process that is missing, slow or dead. Like the meta
 * processes, its sockets live in a scope the process owns: stopping or killing it releases
 * the ports.
 *
 * @internal
 */
import { HttpRouter, HttpServerResponse, SocketServer } from "@effect/platform"
import type { Rpc, RpcGroup } from "@effect/rpc"
import { RpcSerialization, RpcServer } from "@effect/rpc"
import type { Headers } from "@effect/platform"
import { Context as EffectContext, Duration, Effect, Exit, Option, Redacted, Scope } from "effect"
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import type { Duplex } from "node:stream"
import { InvalidSpec, ListenFailed, SocketAddress } from "../../Meta/types.js"
import { formatAddress, inScope } from "../../Meta/internal/resource.js"
import type { Behaviour } from "../../Process/Behaviour.js"
import { reply } from "../../Process/Behaviour.js"
import type { Context } from "../../Process/Context.js"
import type { GatewayInfo, GatewaySpec } from "../Gateway.js"
import { Authentication, Endpoints, group, Unauthorized } from "../Gateway.js"

interface Counters {
  calls: number
  failures: number
  unauthorized: number
}

interface State {
  readonly scope: Scope.CloseableScope
  /** Cuts every open connection of the HTTP server (WebSocket ones included). */
  readonly cut: () => void
  readonly endpoints: Endpoints
  readonly exposed: Record<string, ReadonlyArray<string>>
  readonly counters: Counters
}

const AUTH_HEADER = "authorization"

const badPort = (port: unknown): string | undefined =>
  typeof port === "number" && Number.isInteger(port) && port >= 0 && port <= 65535
    ? undefined
    : `must be an integer from 0 to 65535 (got ${String(port)})`

const isRequestClass = (request: unknown): request is Rpc.AnyTaggedRequestSchema =>
  typeof request === "function" && typeof (request as any)._tag === "string" &&
  (request as any).success !== undefined && (request as any).failure !== undefined

/** Checks the spec; the tag of each request with the name that owns it. */
const validate = (spec: GatewaySpec): InvalidSpec | Map<string, string> => {
  const invalid = (field: string, reason: string) => new InvalidSpec({ kind: "Gateway", field, reason })
  if (spec === null || typeof spec !== "object") return invalid("spec", "must be an object { expose, port }")
  if (spec.expose === null || typeof spec.expose !== "object" || Object.keys(spec.expose).length === 0) {
    return invalid("expose", "must name at least one process: { counter: [Increment, GetCount] }")
  }
  const owners = new Map<string, string>()
  for (const [name, requests] of Object.entries(spec.expose)) {
    if (name.length === 0) return invalid("expose", "has an empty process name")
    if (!Array.isArray(requests) || requests.length === 0) {
      return invalid(`expose.${name}`, "must be a non-empty array of Schema.TaggedRequest classes")
    }
    for (const request of requests) {
      if (!isRequestClass(request)) {
        const what = typeof request === "function" && request.name ? request.name : String(request)
        return invalid(
          `expose.${name}`,
          `holds ${what}, not a Schema.TaggedRequest class (plain messages cannot be called)`
        )
      }
      const owner = owners.get(request._tag)
      if (owner !== undefined) {
        return invalid(
          `expose.${name}`,
          `repeats the request tag "${request._tag}" (already exposed for ${owner}): rpc names are the tags, ` +
            "give the classes distinct tags or run a gateway per process"
        )
      }
      owners.set(request._tag, name)
    }
  }
  if (spec.port === undefined && spec.socketPort === undefined) {
    return invalid("port", "and socketPort are both missing: give port (HTTP and WebSocket), socketPort, or both")
  }
  for (const field of ["port", "socketPort"] as const) {
    const bad = spec[field] === undefined ? undefined : badPort(spec[field])
    if (bad !== undefined) return invalid(field, bad)
  }
  if (spec.path !== undefined && (typeof spec.path !== "string" || !spec.path.startsWith("/"))) {
    return invalid("path", `must start with "/" (got ${String(spec.path)})`)
  }
  if (spec.auth !== undefined) {
    const token = spec.auth === null || typeof spec.auth !== "object" ? undefined : spec.auth.token
    const value = Redacted.isRedacted(token) ? Redacted.value(token) : token
    if (typeof value !== "string" || value.length === 0) return invalid("auth.token", "must be a non-empty string")
  }
  if (spec.callTimeout !== undefined && Option.isNone(Duration.decodeUnknown(spec.callTimeout))) {
    return invalid("callTimeout", `must be a duration (got ${String(spec.callTimeout)})`)
  }
  const serialization = spec.serialization ?? "ndjson"
  if (!["ndjson", "json", "msgpack"].includes(serialization)) {
    return invalid("serialization", `must be "ndjson", "json" or "msgpack" (got ${String(serialization)})`)
  }
  if (serialization === "json" && spec.socketPort !== undefined) {
    return invalid("serialization", `"json" has no framing for raw sockets: use "ndjson" or "msgpack" with socketPort`)
  }
  return owners
}

const serializationLayer = (name: GatewaySpec["serialization"]): RpcSerialization.RpcSerialization["Type"] =>
  name === "json" ? RpcSerialization.json : name === "msgpack" ? RpcSerialization.msgPack : RpcSerialization.ndjson

const digest = (value: string): Buffer => Crypto.createHash("sha256").update(value).digest()

/** The token check: constant time, on digests (so that the lengths do not leak either). */
const authentication = (token: string, counters: Counters) => {
  const expected = digest(token)
  return ({ headers }: { readonly headers: Headers.Headers }) => {
    const value = headers[AUTH_HEADER]
    if (value === undefined || value.length === 0) {
      counters.unauthorized++
      return Effect.fail(new Unauthorized({ header: AUTH_HEADER, reason: "missing" }))
    }
    const given = value.startsWith("Bearer ") ? value.slice(7) : value
    if (!Crypto.timingSafeEqual(digest(given), expected)) {
      counters.unauthorized++
      return Effect.fail(new Unauthorized({ header: AUTH_HEADER, reason: "wrong" }))
    }
    return Effect.void
  }
}

const init = (spec: GatewaySpec, ctx: Context<any, any>): Effect.Effect<State, InvalidSpec | ListenFailed> =>
  Effect.gen(function*() {
    const owners = validate(spec)
    if (owners instanceof InvalidSpec) return yield* owners
    const host = spec.host ?? "127.0.0.1"
    // Imported here, not at the top: `rain/Rpc`'s Control client (and the `rain` command line)
    // must load without this optional peer, which only the gateway's servers need.
    const { NodeHttpServer, NodeSocketServer } = yield* Effect.tryPromise({
      try: () => import("@effect/platform-node"),
      catch: () =>
        new ListenFailed({
          kind: "Gateway",
          address: formatAddress(host, spec.port ?? spec.socketPort ?? 0),
          reason: "@effect/platform-node, which serves it, is not installed (npm install @effect/platform-node)"
        })
    })
    const path = spec.path ?? "/rpc"
    const timeout = spec.callTimeout
    const counters: Counters = { calls: 0, failures: 0, unauthorized: 0 }
    const requests = Object.values(spec.expose).flat()
    const rpcs: RpcGroup.RpcGroup<any> = spec.auth === undefined
      ? group(requests)
      : group(requests).middleware(Authentication)

    // one handler per tag: a call to the process registered under the name that exposes it
    const handlers: Record<string, (payload: unknown) => Effect.Effect<unknown, unknown>> = {}
    for (const [tag, name] of owners) {
      handlers[tag] = (payload) => {
        counters.calls++
        return ctx.call(name, payload, timeout).pipe(Effect.tapError(() => Effect.sync(() => counters.failures++)))
      }
    }
    let context = (yield* rpcs.toHandlersContext(handlers)) as EffectContext.Context<any>
    context = EffectContext.add(context, RpcSerialization.RpcSerialization, serializationLayer(spec.serialization))
    if (spec.auth !== undefined) {
      const token = spec.auth.token
      context = EffectContext.add(
        context,
        Authentication,
        authentication(Redacted.isRedacted(token) ? Redacted.value(token) : token, counters) as any
      )
    }

    // Connections are cut before the scope closes, on stop and on kill alike: the platform's
    // WebSocket server waits in its close for every client to leave, and a client left
    // connected would hold the process in `terminate` (or the port) for as long as it stays.
    let cut = () => {}
    const scope = yield* Scope.make()
    yield* Effect.forkDaemon(
      Effect.flatMap(ctx.awaitExit(ctx.self), () =>
        Effect.zipRight(Effect.sync(() => cut()), Scope.close(scope, Exit.void)))
    )
    // every connection of the HTTP server, WebSocket ones included (node forgets those once upgraded)
    const sockets = new Set<Duplex>()
    let http: string | undefined
    let webSocket: string | undefined
    let socket: SocketAddress | undefined

    if (spec.port !== undefined) {
      const port = spec.port
      const server = Http.createServer({ keepAliveTimeout: 5_000 })
      server.on("connection", (connection) => {
        sockets.add(connection)
        connection.once("close", () => sockets.delete(connection))
      })
      const platform = yield* inScope(scope, NodeHttpServer.make(() => server, { host, port })).pipe(
        Effect.mapError((error) =>
          new ListenFailed({
            kind: "Gateway",
            address: formatAddress(host, port),
            reason: error.cause instanceof Error ? error.cause.message : String(error.cause)
          })
        )
      )
      const app = yield* inScope(
        scope,
        Effect.gen(function*() {
          const overHttp = yield* RpcServer.toHttpApp(rpcs)
          const overWebSocket = yield* RpcServer.toHttpAppWebsocket(rpcs)
          const route = path as HttpRouter.PathInput
          const router = HttpRouter.empty.pipe(HttpRouter.post(route, overHttp), HttpRouter.get(route, overWebSocket))
          return Effect.catchTag(router, "RouteNotFound", (error) =>
            HttpServerResponse.text(
              `Not Found: no route for ${error.request.method} ${error.request.url}; ` +
                `rpc is served on POST ${path} (HTTP) and GET ${path} (WebSocket)\n`,
              { status: 404 }
            ))
        }).pipe(Effect.provide(context))
      ) as Effect.Effect<HttpServerResponse.HttpServerResponse, never, never>
      yield* inScope(scope, platform.serve(app))
      cut = () => {
        server.closeIdleConnections()
        server.closeAllConnections()
        for (const connection of sockets) connection.destroy()
      }
      const bound = platform.address._tag === "TcpAddress" ? platform.address.port : port
      const at = formatAddress(host, bound)
      http = `http://${at}${path}`
      webSocket = `ws://${at}${path}`
    }

    if (spec.socketPort !== undefined) {
      const port = spec.socketPort
      const listening = yield* inScope(
        scope,
        Effect.gen(function*() {
          const socketServer = yield* NodeSocketServer.make({ host, port })
          const protocol = yield* RpcServer.makeProtocolSocketServer.pipe(
            Effect.provideService(SocketServer.SocketServer, socketServer)
          )
          yield* RpcServer.make(rpcs).pipe(
            Effect.provideService(RpcServer.Protocol, protocol),
            Effect.provide(context),
            Effect.interruptible,
            Effect.forkScoped
          )
          return socketServer.address
        }).pipe(
          Effect.provide(context),
          Effect.mapError((error) =>
            new ListenFailed({ kind: "Gateway", address: formatAddress(host, port), reason: error.message })
          )
        )
      )
      socket = new SocketAddress({ host, port: listening._tag === "TcpAddress" ? listening.port : port })
    }

    const exposed: Record<string, Array<string>> = {}
    for (const [tag, name] of owners) (exposed[name] ??= []).push(tag)
    const state: State = {
      scope,
      cut: () => cut(),
      endpoints: new Endpoints({ http, webSocket, socket }),
      exposed,
      counters
    }
    return state
  })

/** Cuts open connections (rpcs in flight end with them) and releases the ports. */
const shutdown = (state: State): Effect.Effect<void> =>
  Effect.zipRight(Effect.sync(() => state.cut()), Scope.close(state.scope, Exit.void))

/** @internal */
export const Server: Behaviour<State, GatewaySpec, never, any, InvalidSpec | ListenFailed> = {
  name: "Gateway",
  init,
  handleCall: (_request, _from, state) => Effect.succeed(reply(state.endpoints, state)),
  terminate: (_reason, state) => shutdown(state),
  describe: (state): GatewayInfo => ({
    kind: "Gateway",
    endpoints: state.endpoints,
    exposed: state.exposed,
    calls: state.counters.calls,
    failures: state.counters.failures,
    unauthorized: state.counters.unauthorized
  })
}
