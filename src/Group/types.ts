/**
 * The messages and errors of process groups, and what the scope processes of two nodes say
 * to each other (pg's `discover`, `sync`, `join` and `leave`). All are Schema classes
 * registered for the wire.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"
import { Pid, Reference } from "../Process/Pid.js"
import * as codec from "../Message/internal/codec.js"

/**
 * Pids joined a group that a process monitors (pg's `{Ref, join, Group, Pids}`), in `handleMessage`.
 *
 * @since 0.2.0
 * @category messages
 */
export class Joined extends Schema.TaggedClass<Joined>("rain/Group/Joined")("GroupJoined", {
  ref: Reference,
  scope: Schema.String,
  group: Schema.String,
  pids: Schema.Array(Pid)
}) {}

/**
 * Pids left a group that a process monitors (pg's `{Ref, leave, Group, Pids}`): they called
 * `leave`, ended, or their node went away.
 *
 * @since 0.2.0
 * @category messages
 */
export class Left extends Schema.TaggedClass<Left>("rain/Group/Left")("GroupLeft", {
  ref: Reference,
  scope: Schema.String,
  group: Schema.String,
  pids: Schema.Array(Pid)
}) {}

/**
 * The scope is not running on this node.
 *
 * @since 0.2.0
 * @category errors
 */
export class ScopeNotStarted extends Schema.TaggedError<ScopeNotStarted>()("ScopeNotStarted", {
  scope: Schema.String,
  node: Schema.String
}) {
  override get message(): string {
    return `Process group scope "${this.scope}" is not running on ${this.node}: start it with Group.start(node, { scope: "${this.scope}" }) on every node that uses it.`
  }
}

/**
 * `join` or `leave` was given a pid of another node (or of a previous incarnation of this one).
 *
 * @since 0.2.0
 * @category errors
 */
export class NotLocal extends Schema.TaggedError<NotLocal>()("NotLocal", { pid: Pid, node: Schema.String }) {
  override get message(): string {
    return `${String(this.pid)} is not a process of ${this.node}: a process joins and leaves groups on its own node (the scope there tells the others).`
  }
}

/**
 * A group name or scope name that cannot be used (empty).
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidGroup extends Schema.TaggedError<InvalidGroup>()("InvalidGroup", {
  what: Schema.String,
  value: Schema.String
}) {
  override get message(): string {
    return this.what === "node or ctx"
      ? `Invalid node or ctx ${this.value}: pass the node (from Node.start) or a process's ctx.`
      : `Invalid ${this.what} "${this.value}": use a non-empty string.`
  }
}

/**
 * Scope to scope: a scope on another node introduces itself (on its start, or on nodeup).
 *
 * @since 0.2.0
 * @category internal
 */
export class Discover extends Schema.TaggedClass<Discover>("rain/Group/Discover")("Discover", { from: Pid }) {}

/**
 * Scope to scope: every local membership of the sender, replacing what the receiver knew of it.
 *
 * @since 0.2.0
 * @category internal
 */
export class Sync extends Schema.TaggedClass<Sync>("rain/Group/Sync")("Sync", {
  from: Pid,
  groups: Schema.Array(Schema.Struct({ group: Schema.String, pids: Schema.Array(Pid) }))
}) {}

/**
 * Scope to scope: local pids joined a group.
 *
 * @since 0.2.0
 * @category internal
 */
export class PeerJoin extends Schema.TaggedClass<PeerJoin>("rain/Group/PeerJoin")("PeerJoin", {
  from: Pid,
  group: Schema.String,
  pids: Schema.Array(Pid)
}) {}

/**
 * Scope to scope: local pids left a group.
 *
 * @since 0.2.0
 * @category internal
 */
export class PeerLeave extends Schema.TaggedClass<PeerLeave>("rain/Group/PeerLeave")("PeerLeave", {
  from: Pid,
  group: Schema.String,
  pids: Schema.Array(Pid)
}) {}

codec.register(Joined, Left, ScopeNotStarted, NotLocal, InvalidGroup, Discover, Sync, PeerJoin, PeerLeave)
