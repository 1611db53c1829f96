/**
 * TCP meta processes. The server owns an `@effect/platform` `SocketServer`
 * (`NodeSocketServer`) and spawns one linked connection process per accepted socket; a
 * client is a connection process that connects in `init`. A connection reads through the
 * platform `Socket`, cuts the bytes into frames and sends each to its handler as
 * `TcpData`; `TcpSend` messages to it are written. When the handler's mailbox is full the
 * connection pauses the socket (TCP then pushes back on the peer) until the handler has
 * room: at most one chunk (or 64 KiB of frames) waits in the connection.
 *
 * @internal
 */
import { NodeSocket, NodeSocketServer } from "@effect/platform-node"
import type { Socket } from "@effect/platform"
import { Effect, Exit, Scope } from "effect"
import * as Net from "node:net"
import type { Behaviour } from "../../Process/Behaviour.js"
import { reply } from "../../Process/Behaviour.js"
import type { Context } from "../../Process/Context.js"
import type { SpawnError } from "../../Process/errors.js"
import * as Reason from "../../Process/ExitReason.js"
import type { Exit as ExitMessage, Info } from "../../Process/Message.js"
import type { Address, Pid } from "../../Process/Pid.js"
import { isPid } from "../../Process/Pid.js"
import type { Framing, TcpClientSpec, TcpConnectionInfo, TcpHandler, TcpServerInfo, TcpServerSpec } from "../types.js"
import {
  ConnectFailed,
  GetAddress,
  InvalidSpec,
  ListenFailed,
  SocketAddress,
  TcpClose,
  TcpClosed,
  TcpConnected,
  TcpData,
  TcpSend
} from "../types.js"
import { badFraming, decoder, encode, FrameTooLarge } from "./framing.js"
import { badPort, formatAddress, inScope, ownedScope, roomWait } from "./resource.js"

const MiB = 1024 * 1024
/** Frames waiting in a connection (bytes) before it pauses reading even though the handler takes them. */
const QUEUE_HIGH = 64 * 1024

const isBehaviour = (handler: TcpHandler): handler is Behaviour<any, Pid, never, never, any, never> =>
  typeof handler === "object" && handler !== null && typeof (handler as any).init === "function"

const validate = (
  kind: string,
  spec: { readonly port: number; readonly handler: TcpHandler; readonly framing?: Framing | undefined; readonly maxFrameSize?: number | undefined }
): InvalidSpec | undefined => {
  const invalid = (field: string, reason: string) => new InvalidSpec({ kind, field, reason })
  if (spec === null || typeof spec !== "object") return invalid("spec", "must be an object { port, handler }")
  const port = badPort(spec.port)
  if (port !== undefined) return invalid("port", port)
  if (spec.handler === undefined || spec.handler === null) {
    return invalid("handler", "is missing: give a process address or a behaviour to spawn per connection")
  }
  const framing = badFraming(spec.framing)
  if (framing !== undefined) return invalid("framing", framing)
  if (spec.maxFrameSize !== undefined && !(Number.isInteger(spec.maxFrameSize) && spec.maxFrameSize > 0)) {
    return invalid("maxFrameSize", `must be a positive integer (got ${String(spec.maxFrameSize)})`)
  }
  return undefined
}

// ---------------------------------------------------------------------------
// Connection

/** What a connection process is started with: an open socket (accepted, or connected by a client). */
interface Open {
  readonly socket: Socket.Socket
  readonly net: Net.Socket
  readonly handler: TcpHandler
  readonly framing: Framing
  readonly maxFrameSize: number
}

/** The socket's reading ended (sent by the reading fiber to its own process). */
class Ended {
  constructor(readonly reason: string) {}
}

interface ConnectionState {
  readonly scope: Scope.CloseableScope
  readonly net: Net.Socket
  readonly framing: Framing
  readonly handler: Address<any, any>
  readonly remoteAddress: string
  readonly localAddress: string
  bytesIn: number
  bytesOut: number
  paused: boolean
  closed: boolean
}

/** `new TcpData(...)` without the Schema constructor's per-instance work: one per frame read, a hot path. */
const makeData = (connection: Pid, data: Uint8Array): TcpData => {
  const message = Object.create(TcpData.prototype)
  message.connection = connection
  message.data = data
  message._tag = "rain/Meta/TcpData"
  return message
}

const netAddress = (address: string | undefined, port: number | undefined) =>
  address === undefined ? "unknown" : formatAddress(address, port ?? 0)

/** Turns an open socket into the calling process's connection (the shared part of accepted and client connections). */
const openConnection = (open: Open, ctx: Context<any, any>) =>
  Effect.gen(function*() {
    yield* ctx.trapExit(true)
    const { net } = open
    net.setNoDelay(true)
    const handler: Address<any, any> = isBehaviour(open.handler)
      ? yield* ctx.spawnLink(open.handler, ctx.self)
      : open.handler
    if (isPid(handler)) yield* ctx.link(handler)
    const state: ConnectionState = {
      scope: yield* ownedScope(ctx),
      net,
      framing: open.framing,
      handler,
      remoteAddress: netAddress(net.remoteAddress, net.remotePort),
      localAddress: netAddress(net.localAddress, net.localPort),
      bytesIn: 0,
      bytesOut: 0,
      paused: false,
      closed: false
    }
    yield* ctx.send(handler, new TcpConnected({ connection: ctx.self, remoteAddress: state.remoteAddress, localAddress: state.localAddress }, true)).pipe(Effect.ignore)

    const decode = decoder(open.framing, open.maxFrameSize)
    const queue: Array<TcpData> = []
    let queued = 0
    let draining = false
    let tooLarge: FrameTooLarge | undefined
    const pause = () => {
      if (!state.paused) {
        state.paused = true
        net.pause()
      }
    }
    // Delivers queued frames in order; on a full mailbox it pauses the socket and retries
    // (`roomWait`) until the handler has room.
    const drain = Effect.gen(function*() {
      let attempt = 0
      while (queue.length > 0) {
        const result = yield* Effect.either(ctx.send(handler, queue[0]))
        if (result._tag === "Right" || result.left._tag !== "MailboxFull") {
          queued -= queue.shift()!.data.length
          attempt = 0
          continue
        }
        pause()
        yield* roomWait(attempt++)
      }
      draining = false
      if (tooLarge !== undefined) {
        state.closed = true
        net.destroy()
        return yield* Effect.ignore(ctx.send(ctx.self, new Ended(tooLarge.message)))
      }
      if (state.paused && !state.closed) {
        state.paused = false
        net.resume()
      }
    })
    const onData = (chunk: Uint8Array): Effect.Effect<void> | void => {
      state.bytesIn += chunk.length
      const frames = decode(chunk)
      for (let i = 0; i < frames.length; i++) {
        const frame = frames[i]! // i < frames.length
        if (frame instanceof FrameTooLarge) {
          // deliver what came before it, then close: the stream cannot be resynchronised
          tooLarge = frame
          pause()
          break
        }
        const message = makeData(ctx.self, frame)
        // fast path: nothing waiting, so try the send now (a local send is synchronous); a
        // send that had to wait for a busy remote node was made, so it counts as sent
        if (!draining && queue.length === 0) {
          const exit = Effect.runSyncExit(ctx.send(handler, message))
          if (exit._tag === "Success" || exit.cause._tag !== "Fail" || exit.cause.error._tag !== "MailboxFull") continue
        }
        queue.push(message)
        queued += frame.length
      }
      if (draining) {
        if (queued > QUEUE_HIGH) pause()
        return
      }
      if (queue.length === 0 && tooLarge === undefined) return
      draining = true
      return drain
    }
    yield* Effect.forkIn(
      open.socket.run(onData).pipe(
        Effect.as("closed by peer"),
        Effect.catchAll((error) =>
          Effect.succeed(error.reason === "Close" ? "closed" : `socket error: ${String((error as any).cause ?? error.message)}`)
        ),
        Effect.flatMap((reason) => ctx.send(ctx.self, new Ended(reason))),
        Effect.ignore
      ),
      state.scope
    )
    return state
  })

const uncork = (net: Net.Socket) => net.uncork()

/** Hot path: writes one frame; waits (holding the connection's mailbox) only when the socket buffer is full. */
const writeFrame = (state: ConnectionState, data: string | Uint8Array) => {
  const bytes = encode(state.framing, data)
  if (typeof bytes === "string") return Effect.as(Effect.logWarning(`TcpSend dropped: ${bytes}`), state)
  if (state.closed) return Effect.succeed(state)
  state.bytesOut += bytes.length
  // frames written in one run of the node's drain loop leave in one write (one syscall)
  const net = state.net
  if (net.writableCorked === 0) {
    net.cork()
    process.nextTick(uncork, net)
  }
  // a full socket buffer: take no further message until it drains (senders queue in the mailbox)
  if (net.write(bytes)) return Effect.succeed(state)
  return Effect.async<ConnectionState>((resume) => {
    const done = () => {
      state.net.off("drain", done)
      state.net.off("close", done)
      resume(Effect.succeed(state))
    }
    state.net.on("drain", done)
    state.net.on("close", done)
  })
}

const connectionMessage = (message: unknown, state: ConnectionState, ctx: Context<any, any>) => {
  if (message instanceof Uint8Array || typeof message === "string") return writeFrame(state, message)
  if (message instanceof TcpSend) return writeFrame(state, message.data)
  if (message instanceof Ended) {
    state.closed = true
    return ctx.send(state.handler, new TcpClosed({ connection: ctx.self, reason: message.reason }, true)).pipe(
      Effect.ignore,
      Effect.zipRight(ctx.stop(Reason.normal)),
      Effect.as(state)
    )
  }
  if (message instanceof TcpClose) {
    state.net.end()
    return Effect.succeed(state)
  }
  return Effect.as(Effect.logWarning(`TCP connection ignored ${String(message)}: send bytes, a string, Meta.TcpSend or Meta.TcpClose`), state)
}

/** Exit from the handler or the server: end with it (normal when the handler ended normally). */
const connectionInfo = (info: Info, state: ConnectionState, ctx: Context<any, any>) =>
  info._tag === "Exit" ? Effect.as(ctx.stop((info as ExitMessage).reason), state) : Effect.succeed(state)

const closeConnection = (state: ConnectionState) =>
  Effect.suspend(() => {
    state.closed = true
    if (!state.net.destroyed) state.net.end()
    return Scope.close(state.scope, Exit.void)
  })

const describeConnection = (state: ConnectionState): TcpConnectionInfo => ({
  kind: "TcpConnection",
  remoteAddress: state.remoteAddress,
  localAddress: state.localAddress,
  handler: isPid(state.handler) ? state.handler : String(state.handler),
  bytesIn: state.bytesIn,
  bytesOut: state.bytesOut,
  paused: state.paused
})

/** An accepted connection (spawned by the server). @internal */
export const TcpConnection: Behaviour<ConnectionState, Open, any, never, SpawnError> = {
  name: "TcpConnection",
  init: openConnection,
  handleMessage: connectionMessage,
  handleInfo: connectionInfo,
  terminate: (_reason, state) => closeConnection(state),
  describe: describeConnection
}

/** A client connection: connects in init (the platform `Socket` over a connected `net.Socket`). @internal */
export const TcpClient: Behaviour<ConnectionState, TcpClientSpec, any, never, InvalidSpec | ConnectFailed | SpawnError> = {
  name: "TcpClient",
  init: (spec, ctx) =>
    Effect.gen(function*() {
      const invalid = validate("TcpClient", spec)
      if (invalid !== undefined) return yield* invalid
      const address = formatAddress(spec.host, spec.port)
      const net = yield* Effect.async<Net.Socket, ConnectFailed>((resume) => {
        const net = Net.createConnection({ host: spec.host, port: spec.port })
        const onError = (error: Error) => resume(Effect.fail(new ConnectFailed({ address, reason: error.message })))
        net.once("error", onError)
        net.once("connect", () => {
          net.off("error", onError)
          resume(Effect.succeed(net))
        })
        return Effect.sync(() => net.destroy())
      }).pipe(
        Effect.timeoutFail({
          duration: spec.connectTimeout ?? "5 seconds",
          onTimeout: () => new ConnectFailed({ address, reason: "timed out" })
        })
      )
      const socket = yield* NodeSocket.fromDuplex(Effect.acquireRelease(Effect.succeed(net), (net) => Effect.sync(() => net.destroy())))
      return yield* openConnection({
        socket,
        net,
        handler: spec.handler,
        framing: spec.framing ?? "raw",
        maxFrameSize: spec.maxFrameSize ?? 16 * MiB
      }, ctx).pipe(Effect.onError(() => Effect.sync(() => net.destroy())))
    }),
  handleMessage: connectionMessage,
  handleInfo: connectionInfo,
  terminate: (_reason, state) => closeConnection(state),
  describe: describeConnection
}

// ---------------------------------------------------------------------------
// Server

interface ServerState {
  readonly scope: Scope.CloseableScope
  readonly address: SocketAddress
  readonly connections: Map<string, Pid>
  accepted: number
}

const serverInit = (spec: TcpServerSpec, ctx: Context<any, any>) =>
  Effect.gen(function*() {
    const invalid = validate("TcpServer", spec)
    if (invalid !== undefined) return yield* invalid
    yield* ctx.trapExit(true)
    const host = spec.host ?? "127.0.0.1"
    const scope = yield* ownedScope(ctx)
    const server = yield* inScope(scope, NodeSocketServer.make({ host, port: spec.port })).pipe(
      Effect.mapError((error) =>
        new ListenFailed({
          kind: "TcpServer",
          address: formatAddress(host, spec.port),
          reason: error.cause instanceof Error ? error.cause.message : String(error.cause)
        })
      )
    )
    const port = server.address._tag === "TcpAddress" ? server.address.port : spec.port
    const state: ServerState = { scope, address: new SocketAddress({ host, port }), connections: new Map(), accepted: 0 }
    const framing = spec.framing ?? "raw"
    const maxFrameSize = spec.maxFrameSize ?? 16 * MiB
    yield* Effect.forkIn(
      server.run((socket) =>
        Effect.flatMap(NodeSocket.NetSocket, (net) =>
          ctx.spawnLink(TcpConnection, { socket, net, handler: spec.handler, framing, maxFrameSize }).pipe(
            Effect.tap((pid) =>
              Effect.sync(() => {
                state.accepted++
                state.connections.set(String(pid), pid)
              })
            ),
            Effect.tapError((error) => Effect.logWarning(`TCP connection refused: ${error.message}`)),
            Effect.catchAll(() => Effect.sync(() => net.destroy()))
          )) as Effect.Effect<unknown> // the socket server provides NetSocket to each connection's handler
      ).pipe(Effect.catchAll((error) => Effect.logError(`TCP server stopped accepting: ${error.message}`))),
      scope
    )
    return state
  })

/** Stops the connections (they close their sockets), then the listener. */
const serverTerminate = (reason: Reason.ExitReason, state: ServerState, ctx: Context<any, any>) =>
  Effect.forEach(
    Array.from(state.connections.values()),
    (pid) =>
      Effect.zipRight(
        ctx.exit(pid, Reason.isNormal(reason) ? Reason.shutdown : reason),
        ctx.awaitExit(pid).pipe(
          Effect.timeout("5 seconds"),
          Effect.catchAll(() => Effect.zipRight(ctx.exit(pid, Reason.kill), ctx.awaitExit(pid)))
        )
      ),
    { discard: true, concurrency: "unbounded" }
  ).pipe(Effect.zipRight(Scope.close(state.scope, Exit.void)))

/** @internal */
export const TcpServer: Behaviour<ServerState, TcpServerSpec, never, GetAddress, InvalidSpec | ListenFailed> = {
  name: "TcpServer",
  init: serverInit,
  handleCall: (_request, _from, state) => Effect.succeed(reply(state.address, state)),
  handleInfo: (info, state, ctx) => {
    if (info._tag !== "Exit") return Effect.succeed(state)
    const key = String(info.from)
    if (state.connections.delete(key)) return Effect.succeed(state)
    // an abnormal exit signal from anyone else (its parent, its supervisor) ends the server, as in gen_server
    return Reason.isNormal(info.reason) ? Effect.succeed(state) : Effect.as(ctx.stop(info.reason), state)
  },
  terminate: serverTerminate,
  describe: (state): TcpServerInfo => ({
    kind: "TcpServer",
    address: state.address.toString(),
    port: state.address.port,
    connections: Array.from(state.connections.values()),
    accepted: state.accepted
  })
}
