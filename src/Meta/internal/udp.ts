/**
 * The UDP meta process: owns a `node:dgram` socket (`@effect/platform` has no datagram
 * socket), sends each datagram to its handler as `UdpDatagram` and sends `UdpSend`
 * datagrams. A datagram that arrives while the handler's mailbox is full is dropped and
 * counted: UDP is lossy, and buffering would defeat the mailbox bound.
 *
 * @internal
 */
import { Effect, Exit, Scope } from "effect"
import * as Dgram from "node:dgram"
import type { Behaviour } from "../../Process/Behaviour.js"
import { reply } from "../../Process/Behaviour.js"
import type { Context } from "../../Process/Context.js"
import type { UdpInfo, UdpSpec } from "../types.js"
import { GetAddress, InvalidSpec, ListenFailed, SocketAddress, UdpDatagram, UdpSend } from "../types.js"
import { badPort, formatAddress, inScope, ownedScope } from "./resource.js"

interface State {
  readonly scope: Scope.CloseableScope
  readonly socket: Dgram.Socket
  readonly address: SocketAddress
  readonly counts: { received: number; sent: number; dropped: number }
}

const init = (spec: UdpSpec, ctx: Context<UdpSend, GetAddress>) =>
  Effect.gen(function*() {
    if (spec === null || typeof spec !== "object") {
      return yield* new InvalidSpec({ kind: "Udp", field: "spec", reason: "must be an object { port, handler }" })
    }
    const port = badPort(spec.port)
    if (port !== undefined) return yield* new InvalidSpec({ kind: "Udp", field: "port", reason: port })
    if (spec.handler === undefined || spec.handler === null) {
      return yield* new InvalidSpec({ kind: "Udp", field: "handler", reason: "is missing: give the process that gets the datagrams" })
    }
    const host = spec.host ?? "127.0.0.1"
    const scope = yield* ownedScope(ctx)
    const socket = yield* inScope(
      scope,
      Effect.acquireRelease(
        Effect.async<Dgram.Socket, ListenFailed>((resume) => {
          const socket = Dgram.createSocket(host.includes(":") ? "udp6" : "udp4")
          const onError = (error: Error) => {
            socket.close()
            resume(Effect.fail(new ListenFailed({ kind: "Udp", address: formatAddress(host, spec.port), reason: error.message })))
          }
          socket.once("error", onError)
          socket.bind(spec.port, host, () => {
            socket.off("error", onError)
            resume(Effect.succeed(socket))
          })
        }),
        (socket) =>
          Effect.async<void>((resume) => {
            socket.close(() => resume(Effect.void))
          })
      )
    )
    socket.on("error", (error) => Effect.runFork(Effect.logWarning(`UDP socket error: ${error.message}`)))
    const counts = { received: 0, sent: 0, dropped: 0 }
    const handler = spec.handler
    socket.on("message", (data, rinfo) => {
      counts.received++
      const datagram = new UdpDatagram({
        socket: ctx.self,
        data,
        from: new SocketAddress({ host: rinfo.address, port: rinfo.port }, true)
      }, true)
      // a local send is synchronous; a send to a busy remote node is made and its wait skipped
      const exit = Effect.runSyncExit(ctx.send(handler, datagram))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "MailboxFull") counts.dropped++
    })
    const address = socket.address()
    const state: State = { scope, socket, address: new SocketAddress({ host, port: address.port }), counts }
    return state
  })

const send = (state: State, message: UdpSend) =>
  Effect.async<State>((resume) => {
    state.socket.send(message.data, message.port, message.host, (error) => {
      if (error === null) state.counts.sent++
      resume(
        error === null
          ? Effect.succeed(state)
          : Effect.as(Effect.logWarning(`UDP send to ${formatAddress(message.host, message.port)} failed: ${error.message}`), state)
      )
    })
  })

/** @internal */
export const Udp: Behaviour<State, UdpSpec, UdpSend, GetAddress, InvalidSpec | ListenFailed> = {
  name: "Udp",
  init,
  handleMessage: (message, state) =>
    message instanceof UdpSend
      ? send(state, message)
      : Effect.as(Effect.logWarning(`UDP socket ignored ${String(message)}: send Meta.UdpSend`), state),
  handleCall: (_request, _from, state) => Effect.succeed(reply(state.address, state)),
  terminate: (_reason, state) => Scope.close(state.scope, Exit.void),
  describe: (state): UdpInfo => ({
    kind: "Udp",
    address: state.address.toString(),
    port: state.address.port,
    received: state.counts.received,
    sent: state.counts.sent,
    dropped: state.counts.dropped
  })
}
