/**
 * Processes: behaviours, the handler context, pids, exit reasons and system messages.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Node, Process } from "rain"
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

/**
 * Re-exported from `./Behaviour`.
 *
 * @since 0.1.0
 * @category re-exports
 */
export * from "./Behaviour.js"
export type {
  /**
   * Re-exported from `./Context`.
   *
   * @since 0.1.0
   * @category models
   */
  Context,
  /**
   * Re-exported from `./Context`.
   *
   * @since 0.1.0
   * @category models
   */
  SendError,
  /**
   * Re-exported from `./Context`.
   *
   * @since 0.2.0
   * @category models
   */
  ImportantSendError,
  /**
   * Re-exported from `./Context`.
   *
   * @since 0.1.0
   * @category models
   */
  Timer
} from "./Context.js"
/**
 * Re-exported from `./errors`.
 *
 * @since 0.1.0
 * @category re-exports
 */
export * from "./errors.js"
/**
 * Re-exported from `./sys`: `suspend`, `resume` and `SuspendFailed` (OTP's `sys:suspend`/`sys:resume`), and the
 * message trace: `trace`, `untrace`, `traced`, `TraceFailed`.
 *
 * @since 0.2.0
 * @category re-exports
 */
export * from "./sys.js"
/**
 * Re-exported from `./ExitReason`.
 *
 * @since 0.1.0
 * @category re-exports
 */
export * as ExitReason from "./ExitReason.js"
export type {
  /**
   * Re-exported from `./ExitReason`.
   *
   * @since 0.1.0
   * @category models
   */
  ExitReason as Reason
} from "./ExitReason.js"
export {
  /**
   * Re-exported from `./Message`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  Down,
  /**
   * Re-exported from `./Message`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  Exit,
  /**
   * Re-exported from `./Message`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  From,
  /**
   * Re-exported from `./Message`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  NodeDown,
  /**
   * Re-exported from `./Message`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  NodeUp,
  /**
   * Re-exported from `./Message`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  IdleTimeout
} from "./Message.js"
export type {
  /**
   * Re-exported from `./Message`.
   *
   * @since 0.1.0
   * @category models
   */
  Info
} from "./Message.js"
/**
 * Re-exported from `./Pid`.
 *
 * @since 0.1.0
 * @category re-exports
 */
export * from "./Pid.js"
