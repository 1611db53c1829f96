/**
 * Tagged errors of the process API. They are Schema classes so that they can cross
 * the wire as the failure of a remote `call` or `spawn`.
 *
 * @since 0.1.0
 */
import { Cause, Schema } from "effect"
import type { DecodeFailed, EncodeFailed, TypeNotRegistered } from "../Message/errors.js"
import { ExitReason } from "./ExitReason.js"

/**
 * The target of a `call` (or a `link`/`spawn` that needs it alive) does not exist: it
 * never did, it already ended, or its name is not registered.
 *
 * @since 0.1.0
 */
export class ProcessUnknown extends Schema.TaggedError<ProcessUnknown>("rain/Process/ProcessUnknown")("ProcessUnknown", {
  target: Schema.String
}) {
  override get message(): string {
    return `No process ${this.target}: it has exited or was never started. Monitor it to learn when it goes away.`
  }
}

/**
 * A `call` got no reply in time. A reply that arrives later is dropped.
 *
 * @since 0.1.0
 */
export class Timeout extends Schema.TaggedError<Timeout>("rain/Process/Timeout")("Timeout", {
  target: Schema.String,
  millis: Schema.Number,
  /**
   * For important calls and sends: whether the request reached the target's mailbox (the
   * handler was slow) or not even that (the request or its receipt may be lost).
   */
  delivered: Schema.optional(Schema.Boolean)
}) {
  override get message(): string {
    if (this.delivered === false) {
      return `No receipt from ${this.target} within ${this.millis}ms: the request may not have arrived. Check the connection to its node, or raise the timeout.`
    }
    const arrived = this.delivered === true ? " (the request is in its mailbox)" : ""
    return `No reply from ${this.target} within ${this.millis}ms${arrived}. Raise the timeout or make the handler reply sooner (use a deferred reply for slow work).`
  }
}

/**
 * The process exited while a `call` to it was waiting for the reply.
 *
 * @since 0.1.0
 */
export class ProcessExited extends Schema.TaggedError<ProcessExited>("rain/Process/ProcessExited")("ProcessExited", {
  target: Schema.String,
  reason: ExitReason
}) {
  override get message(): string {
    return `${this.target} exited (${this.reason._tag}) before replying.`
  }
}

/**
 * The receiver's mailbox is at its bound (`mailboxSize`). Nothing was enqueued.
 *
 * @since 0.1.0
 */
export class MailboxFull extends Schema.TaggedError<MailboxFull>("rain/Process/MailboxFull")("MailboxFull", {
  target: Schema.String,
  size: Schema.Number
}) {
  override get message(): string {
    return `The mailbox of ${this.target} is full (${this.size} messages). Retry later, use node.send (which waits for room), or raise mailboxSize.`
  }
}

/**
 * The node of the target is not connected and could not be reached.
 *
 * @since 0.1.0
 */
export class NoConnection extends Schema.TaggedError<NoConnection>("rain/Process/NoConnection")("NoConnection", {
  node: Schema.String,
  reason: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `No connection to node ${this.node}${this.reason ? `: ${this.reason}` : ""}. Check that it runs, that its name resolves and that both nodes share the cookie.`
  }
}

/** An init failure's cause in one line: an error's tag (or name) and message, not its stack. */
const describeCause = (reason: unknown): string => {
  const cause = Cause.isCause(reason) ? Cause.squash(reason) : reason
  if (!(cause instanceof Error)) return String(cause)
  const tag: unknown = (cause as { _tag?: unknown })._tag
  return `${typeof tag === "string" ? tag : cause.name}: ${cause.message}`
}

/**
 * A process failed in `init`, so it was never started.
 *
 * @since 0.1.0
 */
export class InitFailed extends Schema.TaggedError<InitFailed>("rain/Process/InitFailed")("InitFailed", {
  behaviour: Schema.String,
  reason: ExitReason
}) {
  override get message(): string {
    return `${this.behaviour} failed in init: ${this.reason._tag === "error" ? describeCause(this.reason.cause) : this.reason._tag}`
  }
}

/**
 * A name is already registered to another process.
 *
 * @since 0.1.0
 */
export class NameTaken extends Schema.TaggedError<NameTaken>("rain/Process/NameTaken")("NameTaken", {
  name: Schema.String,
  owner: Schema.String
}) {
  override get message(): string {
    return `The name "${this.name}" is already registered to ${this.owner}. Unregister it first or pick another name.`
  }
}

/**
 * The process already has a registered name (a process has at most one, as in Erlang).
 *
 * @since 0.1.0
 */
export class AlreadyRegistered extends Schema.TaggedError<AlreadyRegistered>("rain/Process/AlreadyRegistered")("AlreadyRegistered", {
  pid: Schema.String,
  name: Schema.String
}) {
  override get message(): string {
    return `${this.pid} is already registered as "${this.name}"; unregister it before registering another name.`
  }
}

/**
 * The node is at its `maxProcesses` limit.
 *
 * @since 0.1.0
 */
export class TooManyProcesses extends Schema.TaggedError<TooManyProcesses>("rain/Process/TooManyProcesses")("TooManyProcesses", {
  node: Schema.String,
  limit: Schema.Number
}) {
  override get message(): string {
    return `Node ${this.node} already runs ${this.limit} processes (limits.maxProcesses). Stop some or raise the limit.`
  }
}

/**
 * The node is above its memory limit (`limits.maxMemory`): it sheds load (refuses new
 * processes and messages to its processes) until its memory falls below 90% of the limit.
 * Nothing already accepted is dropped.
 *
 * @since 0.2.0
 * @category errors
 */
export class MemoryLimit extends Schema.TaggedError<MemoryLimit>()("MemoryLimit", {
  node: Schema.String,
  limit: Schema.Number,
  used: Schema.Number
}) {
  override get message(): string {
    return `Node ${this.node} is above its memory limit (${this.used} of ${this.limit} bytes, limits.maxMemory): it refuses new processes and messages until it is back below 90%. Retry later, use node.send (which waits), or raise the limit.`
  }
}

/**
 * The node is stopping or stopped and accepts no new processes.
 *
 * @since 0.1.0
 */
export class NodeStopped extends Schema.TaggedError<NodeStopped>("rain/Process/NodeStopped")("NodeStopped", {
  node: Schema.String
}) {
  override get message(): string {
    return `Node ${this.node} is stopped; start a new node.`
  }
}

/**
 * A message is larger than the node's `maxMessageSize`.
 *
 * @since 0.1.0
 */
export class MessageTooLarge extends Schema.TaggedError<MessageTooLarge>("rain/Process/MessageTooLarge")("MessageTooLarge", {
  size: Schema.Number,
  limit: Schema.Number
}) {
  override get message(): string {
    return `The message takes ${this.size} bytes, over the limit of ${this.limit} (maxMessageSize). Send it in parts or raise the limit on both nodes.`
  }
}

/**
 * A process has no handler for calls, or the request was not understood.
 *
 * @since 0.1.0
 */
export class CallNotHandled extends Schema.TaggedError<CallNotHandled>("rain/Process/CallNotHandled")("CallNotHandled", {
  target: Schema.String,
  behaviour: Schema.String
}) {
  override get message(): string {
    return `${this.target} (${this.behaviour}) has no handleCall; add one to the behaviour or use send.`
  }
}

/**
 * Anything a `call` can fail with besides the request's own error. A remote call also
 * fails with `TypeNotRegistered`, `EncodeFailed` (its request or reply refused by its
 * schema where it was encoded) or `DecodeFailed` (refused where it was decoded).
 *
 * @since 0.1.0
 * @category errors
 */
export type CallError =
  | ProcessUnknown
  | Timeout
  | ProcessExited
  | MailboxFull
  | NoConnection
  | CallNotHandled
  | MessageTooLarge
  | TypeNotRegistered
  | EncodeFailed
  | DecodeFailed

/**
 * A remote node refused to spawn a behaviour or start an application (not in its
 * `network.allowSpawn` / `network.allowApplications`), or it failed there.
 *
 * @since 0.1.0
 */
export class SpawnRefused extends Schema.TaggedError<SpawnRefused>("rain/Process/SpawnRefused")("SpawnRefused", {
  node: Schema.String,
  behaviour: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    const reason = this.reason.replace(/\.$/, "")
    // the allow lists are the fix only when they are the reason (not for a taken name or a failed init)
    const hint = /allowSpawn|allowApplications/.test(reason)
      ? " A node starts for others only the behaviours in its network.allowSpawn and the applications in its network.allowApplications."
      : ""
    return `Node ${this.node} did not start ${this.behaviour}: ${reason}.${hint}`
  }
}

/**
 * A network operation was asked of a node started without `network` options.
 *
 * @since 0.1.0
 */
export class NotDistributed extends Schema.TaggedError<NotDistributed>("rain/Process/NotDistributed")("NotDistributed", {
  node: Schema.String
}) {
  override get message(): string {
    return `Node ${this.node} was started without network options: pass { network: { cookie, ... } } to Node.start.`
  }
}

/**
 * Anything `spawn` can fail with.
 *
 * @since 0.1.0
 */
export type SpawnError = InitFailed | NameTaken | TooManyProcesses | NodeStopped | NoConnection | MemoryLimit
