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
export * from "./Behaviour.js"
export type { Context, ImportantSendError, SendError, Timer } from "./Context.js"
export * from "./errors.js"
export * as ExitReason from "./ExitReason.js"
export type { ExitReason as Reason } from "./ExitReason.js"
export { Down, Exit, From, IdleTimeout, NodeDown, NodeUp } from "./Message.js"
export type { Info } from "./Message.js"
export * from "./Pid.js"
