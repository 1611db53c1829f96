/**
 * The control plane's client: connect on the node's transport, write the preamble, run the
 * node handshake as initiator with the cookie (the node proves it too), and run
 * `@effect/rpc`'s socket protocol on the session.
 *
 * @internal
 */
import { RpcClient, RpcSerialization } from "@effect/rpc"
import * as Socket from "@effect/platform/Socket"
import { Duration, Effect, Layer, Option } from "effect"
import * as crypto from "node:crypto"
import * as Transport from "../../Transport/index.js"
import type { Session } from "../../Transport/types.js"
import type { Client, ClientOptions } from "../Control.js"
import { ControlConnectFailed, Rpcs } from "../Control.js"
import { PREAMBLE, sessionSocket } from "./controlSocket.js"

const formatAddress = (host: string, port: number): string => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`)

/** Connects and authenticates one session. */
export const open = (options: ClientOptions): Effect.Effect<Session, ControlConnectFailed> => {
  if (typeof options !== "object" || options === null) {
    return Effect.fail(
      new ControlConnectFailed({
        address: "?",
        reason: "options",
        detail: `they are ${String(options)}: pass { host, port, cookie }`
      })
    )
  }
  const address = formatAddress(options.host, options.port)
  const transport = options.transport ?? Transport.tcp()
  const fail = (reason: ControlConnectFailed["reason"], detail: string) => new ControlConnectFailed({ address, reason, detail })
  if (typeof options.cookie !== "string" || options.cookie.length === 0) {
    return Effect.fail(fail("options", "no cookie: pass cookie, the node's cookie (a non-empty string)"))
  }
  const timeout = Duration.decodeUnknown(options.timeout ?? "5 seconds")
  if (Option.isNone(timeout)) {
    const shown = typeof options.timeout === "string" ? JSON.stringify(options.timeout) : String(options.timeout)
    return Effect.fail(fail("options", `timeout is ${shown}: give a duration such as "5 seconds"`))
  }
  const connect = Effect.gen(function*() {
    const duplex = yield* transport.connect(address)
    duplex.write(PREAMBLE)
    const session = yield* Transport.handshake(duplex, "initiator", {
      name: `rain-control-${crypto.randomBytes(4).toString("hex")}@client`,
      cookie: options.cookie,
      compression: true
    })
    if (options.node !== undefined && session.peer.name !== options.node) {
      yield* session.close
      return yield* fail("name", `it is ${session.peer.name}, not ${options.node}`)
    }
    return session
  })
  return connect.pipe(
    Effect.catchTags({
      TransportError: (e) => Effect.fail(fail("unreachable", e.detail)),
      HandshakeRejected: (e) =>
        Effect.fail(
          e.reason === "cookie" || e.peerReason === "cookie"
            ? fail("cookie", "the proofs of the cookie do not match")
            : fail("refused", e.message)
        )
    }),
    Effect.timeoutFail({
      duration: timeout.value,
      onTimeout: () => fail("unreachable", `no answer in ${Duration.format(timeout.value)}`)
    })
  )
}

/** The rpc protocol over an authenticated session (reconnecting as the rpc client asks). */
const protocolWith = (first: Session, options: ClientOptions) => {
  const socket = sessionSocket(
    first,
    Effect.mapError(open(options), (e) => new Socket.SocketGenericError({ reason: "Open", cause: e }))
  )
  return RpcClient.makeProtocolSocket().pipe(
    Effect.provideService(Socket.Socket, socket),
    Effect.provide(RpcSerialization.layerMsgPack)
  )
}

/** @internal */
export const layerProtocol = (options: ClientOptions): Layer.Layer<RpcClient.Protocol, ControlConnectFailed> =>
  Layer.scoped(
    RpcClient.Protocol,
    Effect.flatMap(Effect.acquireRelease(open(options), (s) => s.close), (session) => protocolWith(session, options))
  )

/** @internal */
export const client = (options: ClientOptions) =>
  Effect.gen(function*() {
    const session = yield* Effect.acquireRelease(open(options), (s) => s.close)
    const protocol = yield* protocolWith(session, options)
    const rpc = yield* RpcClient.make(Rpcs).pipe(Effect.provideService(RpcClient.Protocol, protocol))
    return Object.assign(rpc, { node: session.peer.name }) as Client
  })
