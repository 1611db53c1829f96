/**
 * How a process behaves: its state, `init`, handlers for messages, calls and system
 * messages, and `terminate`. The shape of OTP's `gen_server`, with Effects.
 *
 * @since 0.1.0
 */
import type { Duration, Effect, Request } from "effect"
import type { Context } from "./Context.js"
import type { ExitReason } from "./ExitReason.js"
import type { From, Info } from "./Message.js"

/**
 * What `handleCall` returns: reply now (`reply`), fail the call with the request's
 * error (`replyError`), or keep `from` and answer later with `ctx.reply` (`noReply`).
 * `A` is the reply's type: a behaviour's `handleCall` must return `CallResult<S, A>` with
 * `A` the success type of its requests, so a reply of the wrong type does not compile.
 *
 * @since 0.1.0
 * @category calls
 */
export type CallResult<S, A = unknown> =
  | { readonly _tag: "Reply"; readonly value: A; readonly state: S }
  | { readonly _tag: "ReplyError"; readonly error: unknown; readonly state: S }
  | { readonly _tag: "NoReply"; readonly state: S }

/**
 * Reply to the caller now and continue with `state`. The reply is checked against the
 * request's success type (`Schema.TaggedRequest`'s `success`).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Process } from "rain"
 *
 * class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
 *   failure: Schema.Never, success: Schema.Number, payload: {}
 * }) {}
 *
 * const Counter = Process.make({
 *   name: "Counter",
 *   init: (start: number) => Effect.succeed(start),
 *   handleCall: (_req: GetCount, _from, count) => Effect.succeed(Process.reply(count, count))
 *   // Process.reply("many", count) does not compile: GetCount's success is a number
 * })
 * ```
 * @since 0.1.0
 * @category calls
 */
export const reply = <A, S>(value: A, state: S): CallResult<S, A> => ({ _tag: "Reply", value, state })

/**
 * Fail the caller's `call` with `error` (the request's failure type) and continue with `state`.
 *
 * @since 0.1.0
 * @category calls
 */
export const replyError = <S>(error: unknown, state: S): CallResult<S, never> => ({ _tag: "ReplyError", error, state })

/**
 * Do not reply yet: keep `from` and answer later with `ctx.reply(from, value)`.
 *
 * @since 0.1.0
 * @category calls
 */
export const noReply = <S>(state: S): CallResult<S, never> => ({ _tag: "NoReply", state })

/**
 * Per-process options a behaviour may set (the node's `process` options are the defaults).
 *
 * @since 0.1.0
 */
export interface ProcessOptions {
  /** Bound of the main lane; `send` to a full mailbox fails with `MailboxFull`. Default: unbounded. */
  readonly mailboxSize?: number | undefined
  /**
   * Receive exit signals from links as `Exit` messages instead of dying with them. An exit
   * signal from the process's parent (its linked spawner, its supervisor, or the node for
   * `node.spawn`) still ends it, through `terminate`, as with gen_server.
   */
  readonly trapExit?: boolean | undefined
  /**
   * Make every `ctx.send` of this process an important one (`ctx.sendImportant`): it
   * completes once the message is in the target's mailbox and fails when it cannot be
   * (Ergo's `ImportantDelivery` process flag). Each remote send then waits a round trip.
   */
  readonly importantDelivery?: boolean | undefined
}

/**
 * A behaviour. `S` is the state, `A` what `init` takes, `M` the plain messages it
 * accepts, `Q` the requests it answers, `E` how `init` may fail, `R` the services its
 * handlers need (provided by whoever spawns it). A handler may fail with anything: the
 * failure ends the process with it as the reason (let it crash).
 *
 * Build each handler once (as here), not per message: a handler built per message
 * allocates a generator and closures for every message.
 *
 * The protocol is inferred from the handlers' annotated first parameters (`msg: Increment`,
 * `req: GetCount`), whatever their order: only `handleMessage`'s `ctx.self` is typed with
 * `M` (the other handlers' `ctx` mention neither `M` nor `Q`, so that TypeScript does not fix
 * them before it has seen those parameters). `handleCall` must reply with the requests'
 * success type (`Process.reply`, and `ctx.reply` through the typed `from`).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Process } from "rain"
 *
 * class Increment extends Schema.TaggedClass<Increment>()("Increment", { by: Schema.Number }) {}
 * class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
 *   failure: Schema.Never, success: Schema.Number, payload: {}
 * }) {}
 *
 * const Counter = Process.make({
 *   name: "Counter",
 *   init: (start: number) => Effect.succeed(start),
 *   handleMessage: (msg: Increment, count) => Effect.succeed(count + msg.by),
 *   handleCall: (_req: GetCount, _from, count) => Effect.succeed(Process.reply(count, count))
 * })
 * ```
 * @since 0.1.0
 */
export interface Behaviour<S, A = void, M = never, Q = never, E = never, R = never> {
  readonly name: string
  readonly init: (args: A, ctx: Context<any, any>) => Effect.Effect<S, E, R>
  readonly handleMessage?: ((message: M, state: S, ctx: Context<M, any>) => Effect.Effect<S, unknown, R>) | undefined
  readonly handleCall?:
    | ((
      request: Q,
      from: From<SuccessOf<Q>>,
      state: S,
      ctx: Context<any, any>
    ) => Effect.Effect<CallResult<S, SuccessOf<Q>>, unknown, R>)
    | undefined
  readonly handleInfo?: ((info: Info, state: S, ctx: Context<any, any>) => Effect.Effect<S, unknown, R>) | undefined
  /**
   * Runs when the process ends for any reason but `kill`: a failing handler, `ctx.stop`,
   * an exit signal from its parent (even when it traps exits, as gen_server), and (unlike
   * OTP, so that resources are released) an exit signal it does not trap. Keep it short:
   * supervisors kill a child whose terminate outlasts its shutdown timeout. A terminate that
   * dies is a crash report, and the process ends with that defect as its reason, as with
   * gen_server.
   */
  readonly terminate?: ((reason: ExitReason, state: S, ctx: Context<any, any>) => Effect.Effect<void, never, R>) | undefined
  readonly options?: ProcessOptions | undefined
  /**
   * What `node.info(pid)` reports as the process's `detail` (a state machine's current
   * state). Without it, `info` reports none. Keep it cheap: it runs on every `info`.
   *
   * @since 0.2.0
   */
  readonly describe?: ((state: S) => unknown) | undefined
  /**
   * The version of this code (OTP's `-vsn`), passed to the next version's `codeChange`
   * when a live process is upgraded (`node.upgrade`). Default: undefined.
   *
   * @since 0.2.0
   */
  readonly version?: string | number | undefined
  /**
   * Migrates the state of a process running an older version to this one's (OTP's
   * `code_change/3`), while the process is suspended: `oldVersion` is the old code's
   * `version`, `extra` what `node.upgrade` was given. Without it the state is kept as is.
   * A failure (or a timeout) cancels the whole upgrade: every process keeps its old code.
   *
   * @since 0.2.0
   */
  readonly codeChange?:
    | ((oldVersion: string | number | undefined, state: any, extra: unknown) => Effect.Effect<S, unknown, R>)
    | undefined
}

/**
 * Any behaviour taking `A` in `init`, for APIs that take behaviours of every shape
 * (the protocol positions are `never` because handlers take them as parameters).
 *
 * @since 0.1.0
 */
export type Any<A = any> = Behaviour<any, A, never, never, any, any>

/**
 * The message type a behaviour accepts.
 *
 * @since 0.1.0
 */
export type MessageOf<B> = B extends Behaviour<any, any, infer M, any, any, any> ? M : never
/**
 * The request type a behaviour answers.
 *
 * @since 0.1.0
 */
export type RequestOf<B> = B extends Behaviour<any, any, any, infer Q, any, any> ? Q : never
/**
 * The `init` argument of a behaviour.
 *
 * @since 0.1.0
 */
export type ArgsOf<B> = B extends Behaviour<any, infer A, any, any, any, any> ? A : never
/**
 * The services a behaviour's handlers need.
 *
 * @since 0.1.0
 */
export type ServicesOf<B> = B extends Behaviour<any, any, any, any, any, infer R> ? R : never

/**
 * What a successful `call` with request `Q` returns: the request's success type for
 * `Schema.TaggedRequest`s (and any `Request`), `unknown` otherwise.
 *
 * @since 0.1.0
 */
export type SuccessOf<Q> = [Q] extends [never] ? unknown : Q extends Request.Request<infer A, any> ? A : unknown
/**
 * The error a `call` with request `Q` may fail with (the request's own failure type).
 *
 * @since 0.1.0
 */
export type FailureOf<Q> = Q extends Request.Request<any, infer E> ? E : never

/**
 * Defines a behaviour. The identity function, there for type inference.
 *
 * @since 0.1.0
 */
export const make = <S, A = void, M = never, Q = never, E = never, R = never>(
  behaviour: Behaviour<S, A, M, Q, E, R>
): Behaviour<S, A, M, Q, E, R> => behaviour

/**
 * Options of `spawn`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpawnOptions extends ProcessOptions {
  /** Register the new process under this name (atomically, before `init` runs). */
  readonly name?: string | undefined
}

/**
 * Options of `sendAfter`/`send`: which mailbox lane the message goes to.
 *
 * @since 0.1.0
 */
export type Priority = "urgent" | "normal" | "log"

/**
 * A call timeout: a duration, or "infinity" for none. Default 5 seconds, as in OTP.
 *
 * @since 0.1.0
 */
export type CallTimeout = Duration.DurationInput | "infinity"
