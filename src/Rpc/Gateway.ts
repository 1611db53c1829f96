/**
 * The gateway: exposes chosen processes (by registered name) to plain `@effect/rpc`
 * clients that are not Rain nodes (browsers, services) over HTTP, WebSocket and raw
 * sockets. Each process's protocol, its `Schema.TaggedRequest` classes, becomes an
 * `RpcGroup` (`Gateway.group`): every request is a `call` to the process, and the call's
 * failures (`Timeout`, `ProcessUnknown`, `ProcessExited`, `NoConnection`, ... and the
 * request's own failure) are the rpc's typed errors. The gateway is a process: spawn it
 * with `node.spawn` or as a supervisor child; stopping it releases its ports.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Node, Process } from "rain"
 * import { Gateway } from "rain/Rpc"
 *
 * class Increment extends Schema.TaggedRequest<Increment>()("Increment", {
 *   failure: Schema.Never, success: Schema.Number, payload: { by: Schema.Number }
 * }) {}
 *
 * const Counter = Process.make({
 *   name: "Counter",
 *   init: () => Effect.succeed(0),
 *   handleCall: (req: Increment, _from, n) => Effect.succeed(Process.reply(n + req.by, n + req.by))
 * })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("gateway@localhost")
 *   yield* node.spawn(Counter, undefined, { name: "counter" })
 *   const gateway = yield* node.spawn(Gateway.Server, { port: 0, expose: { counter: [Increment] } })
 *   const { http } = yield* node.call(gateway, new Gateway.GetEndpoints())
 *   // a client: RpcClient.make(Gateway.group([Increment])) with RpcClient.layerProtocolHttp({ url: http })
 * }))
 * ```
 * @since 0.2.0
 */
import type { Headers } from "@effect/platform"
import { Rpc, RpcClient, RpcGroup, RpcMiddleware } from "@effect/rpc"
import type { Duration, Effect, Redacted } from "effect"
import { Schema } from "effect"
import { dual } from "effect/Function"
import { SocketAddress } from "../Meta/types.js"
import type { InvalidSpec, ListenFailed } from "../Meta/types.js"
import { DecodeFailed, EncodeFailed, TypeNotRegistered } from "../Message/errors.js"
import type { Behaviour } from "../Process/Behaviour.js"
import {
  CallNotHandled,
  MailboxFull,
  MessageTooLarge,
  NoConnection,
  ProcessExited,
  ProcessUnknown,
  Timeout
} from "../Process/errors.js"
import * as internal from "./internal/gateway.js"

export {
  /**
   * Where a listener is (`host:port`), as the meta processes report it.
   *
   * @since 0.2.0
   * @category models
   */
  SocketAddress
} from "../Meta/types.js"

/**
 * Everything a gateway call can fail with besides the request's own failure: the
 * `Process.CallError` classes, as one schema. It is part of every gateway rpc's error, so
 * a client matches them with `Effect.catchTags` (`Timeout`, `ProcessUnknown`, ...).
 *
 * @since 0.2.0
 * @category errors
 */
export const CallError = Schema.Union(
  ProcessUnknown,
  Timeout,
  ProcessExited,
  MailboxFull,
  NoConnection,
  CallNotHandled,
  MessageTooLarge,
  TypeNotRegistered,
  EncodeFailed,
  DecodeFailed
)

/**
 * The type of {@link CallError}.
 *
 * @since 0.2.0
 * @category errors
 */
export type CallError = typeof CallError.Type

/**
 * A request to a gateway that requires a token came without one, or with another.
 *
 * @since 0.2.0
 * @category errors
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>("rain/Rpc/Unauthorized")("Unauthorized", {
  /** The header the gateway reads the token from. */
  header: Schema.String,
  reason: Schema.Literal("missing", "wrong")
}) {
  override get message(): string {
    return this.reason === "missing"
      ? `No token: this gateway requires the header "${this.header}: Bearer <token>" (Gateway.withToken sets it).`
      : `Wrong token in the header "${this.header}": use the token the gateway was started with.`
  }
}

/**
 * The gateway's token check as an `RpcMiddleware`. A gateway started with `auth` runs it on
 * every rpc; a client adds it to its group (`Gateway.group(...).middleware(Gateway.Authentication)`)
 * so that `Unauthorized` is one of its typed errors.
 *
 * @since 0.2.0
 * @category authentication
 */
export class Authentication extends RpcMiddleware.Tag<Authentication>()("rain/Rpc/Gateway/Authentication", {
  failure: Unauthorized
}) {}

/**
 * The rpc a gateway derives from a `Schema.TaggedRequest` class: its tag, the class as the
 * payload, its success, and its failure together with {@link CallError}.
 *
 * @since 0.2.0
 * @category groups
 */
export type RpcFrom<S extends Rpc.AnyTaggedRequestSchema> = S extends Rpc.AnyTaggedRequestSchema
  ? Rpc.Rpc<S["_tag"], S, S["success"], Schema.Union<[S["failure"], typeof CallError]>>
  : never

/**
 * The rpc of one request class (see {@link RpcFrom}).
 *
 * @since 0.2.0
 * @category groups
 */
export const rpc = <S extends Rpc.AnyTaggedRequestSchema>(request: S): RpcFrom<S> =>
  Rpc.fromTaggedRequest(request).setError(Schema.Union(request.failure, CallError)) as any

/**
 * The `RpcGroup` of a process's protocol, its `Schema.TaggedRequest` classes: what a
 * gateway serves for it and what a client builds its `RpcClient` from (the same classes on
 * both sides). Add `.middleware(Gateway.Authentication)` on the client when the gateway
 * requires a token.
 *
 * @example
 * ```ts
 * import { RpcClient } from "@effect/rpc"
 * import { Effect, Schema } from "effect"
 * import { Gateway } from "rain/Rpc"
 *
 * class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
 *   failure: Schema.Never, success: Schema.Number, payload: {}
 * }) {}
 *
 * const CounterRpcs = Gateway.group([GetCount])
 * const count = Effect.flatMap(RpcClient.make(CounterRpcs), (client) => client.GetCount({}))
 * ```
 * @since 0.2.0
 * @category groups
 */
export const group = <const Requests extends ReadonlyArray<Rpc.AnyTaggedRequestSchema>>(
  requests: Requests
): RpcGroup.RpcGroup<RpcFrom<Requests[number]>> => RpcGroup.make(...requests.map(rpc)) as any

/**
 * Runs `effect` (rpc calls of a client) with the gateway's token in the `authorization`
 * header of each request, on every transport.
 *
 * @example
 * ```ts
 * import { RpcClient } from "@effect/rpc"
 * import { Effect, Schema } from "effect"
 * import { Gateway } from "rain/Rpc"
 *
 * class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
 *   failure: Schema.Never, success: Schema.Number, payload: {}
 * }) {}
 *
 * const count = Effect.flatMap(RpcClient.make(Gateway.group([GetCount])), (client) => client.GetCount({}))
 * const authorized = count.pipe(Gateway.withToken("s3cret"))
 * ```
 * @since 0.2.0
 * @category authentication
 */
export const withToken: {
  (token: string): <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(effect: Effect.Effect<A, E, R>, token: string): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(effect: Effect.Effect<A, E, R>, token: string): Effect.Effect<A, E, R> =>
    RpcClient.withHeaders(effect, { authorization: `Bearer ${token}` } as Headers.Input)
)

/**
 * What a gateway serves and where.
 *
 * @since 0.2.0
 * @category models
 */
export interface GatewaySpec {
  /**
   * The processes to expose: registered name to its `Schema.TaggedRequest` classes. A tag
   * may appear for one process only (the rpc names are the requests' tags).
   */
  readonly expose: Readonly<Record<string, ReadonlyArray<Rpc.AnyTaggedRequestSchema>>>
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly host?: string | undefined
  /** HTTP and WebSocket port (0 picks a free one); omit to serve raw sockets only. */
  readonly port?: number | undefined
  /** Where rpc is served on the HTTP port: `POST` for HTTP, `GET` upgrades to WebSocket. Default `/rpc`. */
  readonly path?: string | undefined
  /** Port for the raw socket protocol (`RpcClient.layerProtocolSocket`); omit for none. */
  readonly socketPort?: number | undefined
  /**
   * Require `authorization: Bearer <token>` on every rpc (see {@link Authentication}):
   * without it `Unauthorized` with reason `missing`, another token `wrong`.
   */
  readonly auth?: { readonly token: string | Redacted.Redacted<string> } | undefined
  /** Timeout of each call to a process (default: the node's call timeout, 5 s). */
  readonly callTimeout?: Duration.DurationInput | undefined
  /**
   * The wire format; clients use the matching `RpcSerialization` layer. Default `ndjson`
   * (works on every transport); `json` for HTTP and WebSocket only; `msgpack` binary.
   */
  readonly serialization?: "ndjson" | "json" | "msgpack" | undefined
}

/**
 * Where a gateway serves: URLs for HTTP and WebSocket clients, and the raw socket's address.
 *
 * @since 0.2.0
 * @category models
 */
export class Endpoints extends Schema.Class<Endpoints>("rain/Rpc/Gateway/Endpoints")({
  /** `http://host:port/rpc` for `RpcClient.layerProtocolHttp`. */
  http: Schema.optional(Schema.String),
  /** `ws://host:port/rpc` for `RpcClient.layerProtocolSocket` with `Socket.makeWebSocket`. */
  webSocket: Schema.optional(Schema.String),
  /** The raw socket listener, for `RpcClient.layerProtocolSocket` with `NodeSocket.makeNet`. */
  socket: Schema.optional(SocketAddress)
}) {}

/**
 * Ask a gateway where it serves (useful after spawning on port 0).
 *
 * @since 0.2.0
 * @category models
 */
export class GetEndpoints extends Schema.TaggedRequest<GetEndpoints>()("rain/Rpc/Gateway/GetEndpoints", {
  failure: Schema.Never,
  success: Endpoints,
  payload: {}
}) {}

/**
 * What `node.info(gateway)` reports as its `detail`.
 *
 * @since 0.2.0
 * @category models
 */
export interface GatewayInfo {
  readonly kind: "Gateway"
  readonly endpoints: Endpoints
  /** Registered names exposed, each with its rpc tags. */
  readonly exposed: Readonly<Record<string, ReadonlyArray<string>>>
  /** Rpc calls answered so far (successes and failures). */
  readonly calls: number
  /** Rpc calls that failed (call errors, the requests' own failures). */
  readonly failures: number
  /** Rpcs refused for a missing or wrong token. */
  readonly unauthorized: number
}

/**
 * The gateway server process: owns an `@effect/platform` HTTP server (`RpcServer` over HTTP on
 * `POST path` and WebSocket on `GET path`) and, with `socketPort`, a raw socket server,
 * serving the group of every exposed process. Each rpc is a `call` to the registered name,
 * with `callTimeout`; its failures arrive typed at the client, a process that is not
 * registered as `ProcessUnknown` and one that dies mid-call as `ProcessExited`. Spawning
 * fails with `InitFailed` carrying `InvalidSpec` (a bad spec, a tag exposed twice) or
 * `ListenFailed`. Answers `GetEndpoints`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Node } from "rain"
 * import { Gateway } from "rain/Rpc"
 *
 * class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
 *   failure: Schema.Never, success: Schema.Number, payload: {}
 * }) {}
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("gateway@localhost")
 *   const gateway = yield* node.spawn(Gateway.Server, {
 *     port: 8080, expose: { counter: [GetCount] }, auth: { token: "s3cret" }, callTimeout: "2 seconds"
 *   })
 * }))
 * ```
 * @since 0.2.0
 * @category gateway
 */
export const Server: Behaviour<unknown, GatewaySpec, never, GetEndpoints, InvalidSpec | ListenFailed> = internal
  .Server as Behaviour<any, GatewaySpec, never, GetEndpoints, InvalidSpec | ListenFailed>
