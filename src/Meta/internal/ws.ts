/**
 * A WebSocket connection process: the web server upgrades a request through
 * `@effect/platform` (`HttpServerRequest.upgrade`) and spawns one of these per
 * connection. Frames arrive at its handler as `WsMessage`; `WsSend` / `WsClose` sent to it
 * go out. It ends when the socket closes and closes the socket when it ends. As TCP
 * connections do, it pauses reading while the handler's mailbox is full.
 *
 * @internal
 */
import { Socket } from "@effect/platform"
import { Deferred, Effect, Exit, Scope } from "effect"
import type { Behaviour } from "../../Process/Behaviour.js"
import type { Context } from "../../Process/Context.js"
import type { SpawnError } from "../../Process/errors.js"
import * as Reason from "../../Process/ExitReason.js"
import type { Address, Pid } from "../../Process/Pid.js"
import { isPid } from "../../Process/Pid.js"
import type { WebSocketSpec, WsConnectionInfo } from "../types.js"
import { WsClose, WsClosed, WsConnected, WsMessage, WsSend } from "../types.js"
import { ownedScope, roomWait } from "./resource.js"

/** What the web server hands a new connection process. */
export interface WsOpen {
  readonly socket: Socket.Socket
  readonly spec: WebSocketSpec
  readonly path: string
  readonly remoteAddress: string
  /** Completed once the upgrade is done (the HTTP handler waits for it before returning). */
  readonly opened: Deferred.Deferred<void, string>
}

interface State {
  readonly scope: Scope.CloseableScope
  readonly write: (chunk: string | Uint8Array | Socket.CloseEvent) => Effect.Effect<void, Socket.SocketError>
  readonly handler: Address<any, any>
  readonly path: string
  readonly remoteAddress: string
  messagesIn: number
  messagesOut: number
  paused: boolean
  /** Set when reading ended: the platform writer waits for an open socket, so nothing may be written after. */
  closed: boolean
}

/** The socket closed (sent by the reading fiber to its own process). */
class Ended {
  constructor(readonly code: number, readonly reason: string) {}
}

/** The ws library's socket, as far as pausing goes. */
interface Pausable {
  pause?: () => void
  resume?: () => void
}

const isBehaviour = (handler: WebSocketSpec["handler"]): handler is Behaviour<any, Pid, never, never, any, never> =>
  typeof handler === "object" && handler !== null && typeof (handler as any).init === "function"

const init = (open: WsOpen, ctx: Context<any, any>) =>
  Effect.gen(function*() {
    yield* ctx.trapExit(true)
    const handler: Address<any, any> = isBehaviour(open.spec.handler)
      ? yield* ctx.spawnLink(open.spec.handler, ctx.self)
      : open.spec.handler
    if (isPid(handler)) yield* ctx.link(handler)
    const scope = yield* ownedScope(ctx)
    const state: State = {
      scope,
      write: yield* Scope.extend(open.socket.writer, scope),
      handler,
      path: open.path,
      remoteAddress: open.remoteAddress,
      messagesIn: 0,
      messagesOut: 0,
      paused: false,
      closed: false
    }
    const queue: Array<WsMessage> = []
    let draining = false
    // Delivers queued messages in order; on a full mailbox it pauses the socket and retries
    // (`roomWait`) until the handler has room.
    const drain = Effect.gen(function*() {
      const ws = (yield* Socket.WebSocket) as unknown as Pausable
      let attempt = 0
      while (queue.length > 0) {
        const result = yield* Effect.either(ctx.send(handler, queue[0]))
        if (result._tag === "Right" || result.left._tag !== "MailboxFull") {
          queue.shift()
          attempt = 0
          continue
        }
        if (!state.paused && ws.pause !== undefined) {
          state.paused = true
          ws.pause()
        }
        yield* roomWait(attempt++)
      }
      draining = false
      if (state.paused) {
        state.paused = false
        ws.resume?.()
      }
    })
    const onMessage = (data: string | Uint8Array): Effect.Effect<void, never, Socket.WebSocket> | void => {
      state.messagesIn++
      queue.push(new WsMessage({ connection: ctx.self, data }, true))
      if (draining) return
      draining = true
      return drain
    }
    yield* Effect.forkIn(
      // runRaw provides Socket.WebSocket to the effects its handler returns (drain reads it)
      (open.socket.runRaw(onMessage, { onOpen: Deferred.succeed(open.opened, undefined) }) as Effect.Effect<
        void,
        Socket.SocketError
      >).pipe(
        Effect.as(new Ended(1000, "")),
        Effect.catchAll((error) =>
          Effect.succeed(
            error.reason === "Close"
              ? new Ended((error as Socket.SocketCloseError).code, (error as Socket.SocketCloseError).closeReason ?? "")
              : new Ended(1006, `socket error: ${error.message}`)
          )
        ),
        Effect.tap((ended) => {
          state.closed = true
          return Deferred.fail(open.opened, ended.reason)
        }),
        Effect.flatMap((ended) => ctx.send(ctx.self, ended)),
        Effect.ignore
      ),
      scope
    )
    yield* ctx.send(handler, new WsConnected({ connection: ctx.self, path: open.path, remoteAddress: open.remoteAddress }, true))
      .pipe(Effect.ignore)
    return state
  })

const handleMessage = (message: unknown, state: State, ctx: Context<any, any>) => {
  if (message instanceof WsSend) {
    if (state.closed) return Effect.succeed(state)
    state.messagesOut++
    return Effect.as(Effect.ignore(state.write(message.data)), state)
  }
  if (message instanceof Ended) {
    return ctx.send(state.handler, new WsClosed({ connection: ctx.self, code: message.code, reason: message.reason }, true))
      .pipe(Effect.ignore, Effect.zipRight(ctx.stop(Reason.normal)), Effect.as(state))
  }
  if (message instanceof WsClose) {
    if (state.closed) return Effect.succeed(state)
    return Effect.as(Effect.ignore(state.write(new Socket.CloseEvent(message.code, message.reason))), state)
  }
  return Effect.as(Effect.logWarning(`WebSocket connection ignored ${String(message)}: send Meta.WsSend or Meta.WsClose`), state)
}

/** @internal */
export const WebSocketConnection: Behaviour<State, WsOpen, any, never, SpawnError> = {
  name: "WebSocket",
  init,
  handleMessage,
  handleInfo: (info, state, ctx) =>
    info._tag === "Exit" ? Effect.as(ctx.stop(info.reason), state) : Effect.succeed(state),
  terminate: (_reason, state) =>
    (state.closed ? Effect.void : Effect.ignore(state.write(new Socket.CloseEvent(1001, "going away")))).pipe(
      Effect.zipRight(Scope.close(state.scope, Exit.void))
    ),
  describe: (state): WsConnectionInfo => ({
    kind: "WebSocket",
    path: state.path,
    remoteAddress: state.remoteAddress,
    handler: isPid(state.handler) ? state.handler : String(state.handler),
    messagesIn: state.messagesIn,
    messagesOut: state.messagesOut,
    paused: state.paused
  })
}
