/**
 * The system messages a process receives in `handleInfo`: `Down` from monitors, `Exit`
 * from links when trapping exits, `IdleTimeout` after an idle timeout, and node up/down
 * events from `monitorNode`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { ExitReason } from "./ExitReason.js"
import { Alias, Name, Pid, Reference } from "./Pid.js"

/**
 * A monitored process (or name) went away; delivered exactly once per monitor.
 *
 * @since 0.1.0
 */
export class Down extends Schema.TaggedClass<Down>("rain/Process/Down")("Down", {
  ref: Reference,
  target: Schema.Union(Pid, Name),
  reason: ExitReason
}) {}

/**
 * An exit signal from a linked process (or from `exit(pid, reason)`), delivered as a
 * message because the receiver traps exits.
 *
 * @since 0.1.0
 */
export class Exit extends Schema.TaggedClass<Exit>("rain/Process/Exit")("Exit", {
  from: Pid,
  reason: ExitReason
}) {}

/**
 * No message arrived within the idle timeout set with `ctx.setTimeout` (gen_server's
 * `timeout`). Its tag is `"IdleTimeout"`, distinct from the call error `Timeout`.
 *
 * @since 0.2.0
 * @category messages
 */
export class IdleTimeout extends Schema.TaggedClass<IdleTimeout>("rain/Process/IdleTimeout")("IdleTimeout", {}) {}

/**
 * A node monitored with `monitorNode` disconnected.
 *
 * @since 0.1.0
 */
export class NodeDown extends Schema.TaggedClass<NodeDown>("rain/Process/NodeDown")("NodeDown", {
  node: Schema.String,
  reason: Schema.String
}) {}

/**
 * A node monitored with `monitorNode` connected.
 *
 * @since 0.1.0
 */
export class NodeUp extends Schema.TaggedClass<NodeUp>("rain/Process/NodeUp")("NodeUp", {
  node: Schema.String
}) {}

/**
 * What `handleInfo` receives.
 *
 * @since 0.1.0
 */
export type Info = Down | Exit | IdleTimeout | NodeDown | NodeUp

/**
 * The run-time class of {@link From}.
 *
 * @since 0.2.0
 * @category models
 */
export class FromAddress extends Schema.Class<FromAddress>("rain/Process/From")({
  to: Schema.Union(Pid, Alias),
  ref: Reference
}) {}

/**
 * Where a reply to a call goes: the caller's reply address plus the call's reference.
 * Keep it in the state to answer later with `ctx.reply(from, value)` (a deferred reply).
 * `A` is the reply's type (the request's success type), so that `ctx.reply` is checked;
 * a plain `From` accepts any reply.
 *
 * @since 0.1.0
 * @category models
 */
export type From<A = any> = FromAddress & {
  // A function type makes `A` invariant: a From<number> is neither a From<string> nor a From<unknown>.
  readonly "~reply"?: (a: A) => A
}

/**
 * The class of {@link From} values (a Schema class: it may cross nodes inside a message).
 *
 * @since 0.1.0
 * @category models
 */
export const From: typeof FromAddress = FromAddress
