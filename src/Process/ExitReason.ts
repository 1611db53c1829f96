/**
 * Exit reasons, with Erlang's meaning: `normal` and `shutdown` are clean exits, `kill`
 * cannot be trapped and turns into `killed` for the links, `noproc` and `noconnection`
 * come from monitors and links to processes that are gone or out of reach, and `error`
 * carries the `Cause` of a crash.
 *
 * @since 0.1.0
 */
import { Cause, Schema } from "effect"

/** @since 0.1.0 */
export class Normal extends Schema.TaggedClass<Normal>("rain/Process/ExitReason/Normal")("normal", {}) {}
/** @since 0.1.0 */
export class Shutdown extends Schema.TaggedClass<Shutdown>("rain/Process/ExitReason/Shutdown")("shutdown", {
  /** Optional detail, like Erlang's `{shutdown, Term}`: still a clean exit. */
  detail: Schema.optional(Schema.Unknown)
}) {}
/** @since 0.1.0 */
export class Kill extends Schema.TaggedClass<Kill>("rain/Process/ExitReason/Kill")("kill", {}) {}
/** @since 0.1.0 */
export class Killed extends Schema.TaggedClass<Killed>("rain/Process/ExitReason/Killed")("killed", {}) {}
/** @since 0.1.0 */
export class NoProc extends Schema.TaggedClass<NoProc>("rain/Process/ExitReason/NoProc")("noproc", {}) {}
/** @since 0.1.0 */
export class NoConnection extends Schema.TaggedClass<NoConnection>("rain/Process/ExitReason/NoConnection")("noconnection", {}) {}
/**
 * A crash: the failure or defect of a handler, or a reason given to `exit`/`stop`.
 *
 * @since 0.1.0
 */
export class Error extends Schema.TaggedClass<Error>("rain/Process/ExitReason/Error")("error", {
  cause: Schema.Cause({ error: Schema.Unknown, defect: Schema.Defect })
}) {}

/**
 * Why a process ended (or why an exit signal was sent).
 *
 * @since 0.1.0
 */
export type ExitReason = Normal | Shutdown | Kill | Killed | NoProc | NoConnection | Error

/** @since 0.1.0 */
export const ExitReason = Schema.Union(Normal, Shutdown, Kill, Killed, NoProc, NoConnection, Error)

/** @since 0.1.0 */
export const normal: ExitReason = new Normal({}, true)
/** @since 0.1.0 */
export const shutdown: ExitReason = new Shutdown({}, true)
/** @since 0.1.0 */
export const kill: ExitReason = new Kill({}, true)
/** @since 0.1.0 */
export const killed: ExitReason = new Killed({}, true)
/** @since 0.1.0 */
export const noproc: ExitReason = new NoProc({}, true)
/** @since 0.1.0 */
export const noconnection: ExitReason = new NoConnection({}, true)

/**
 * A crash reason from a `Cause` (what a failing handler ends with).
 *
 * @since 0.1.0
 */
export const fromCause = (cause: Cause.Cause<unknown>): ExitReason => new Error({ cause }, true)

/**
 * A crash reason from any value: `Process.exit(pid, ExitReason.error("bad state"))`.
 *
 * @since 0.1.0
 */
export const error = (reason: unknown): ExitReason => new Error({ cause: Cause.fail(reason) }, true)

/**
 * `shutdown` with a detail, like `{shutdown, Detail}`; still a clean exit.
 *
 * @since 0.1.0
 */
export const shutdownWith = (detail: unknown): ExitReason => new Shutdown({ detail }, true)

/**
 * Whether a reason counts as a clean exit (`normal` or `shutdown`): links ignore
 * `normal`, and transient children are restarted only on anything but these.
 *
 * @since 0.1.0
 */
export const isNormal = (reason: ExitReason): boolean => reason._tag === "normal"

/** @since 0.1.0 */
export const isClean = (reason: ExitReason): boolean => reason._tag === "normal" || reason._tag === "shutdown"

/**
 * Short human rendering for logs.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (reason: ExitReason): string =>
  reason._tag === "error" ? `error: ${Cause.pretty(reason.cause)}` : reason._tag
