/**
 * The tagged errors of worker pools. Schema classes, so that a remote caller of a pool
 * gets them too (list them in `network.messages`: `Pool.messages` does).
 *
 * @since 0.2.0
 */
import { Schema } from "effect"

/**
 * Every worker of the pool had a full mailbox, and stayed full for as long as the pool's
 * `overflow` policy lets it wait (not at all with `"reject"`). A call to the pool fails with
 * it; a plain message is dropped and counted in the pool's `rejected` figure.
 *
 * @since 0.2.0
 * @category errors
 */
export class PoolBusy extends Schema.TaggedError<PoolBusy>("rain/Pool/PoolBusy")("PoolBusy", {
  pool: Schema.String,
  workers: Schema.Number,
  workerMailboxSize: Schema.Number,
  waitedMillis: Schema.Number
}) {
  override get message(): string {
    const waited = this.waitedMillis > 0 ? `, for ${this.waitedMillis}ms,` : ""
    return `Every worker of pool ${this.pool} (${this.workers} workers, mailbox ${this.workerMailboxSize} each) was full${waited} so the request was refused. Retry later, grow the pool (Pool.resize), raise workerMailboxSize, or let the pool wait longer (overflow: { wait }).`
  }
}

/** A value as a user would write it: strings quoted, so `"3"` does not read as the number 3. */
const show = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "function") return `a function`
  if (typeof value !== "object" || value === null) return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * A pool option (or a `Pool.resize` size) has a value it cannot take.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidPoolOptions extends Schema.TaggedError<InvalidPoolOptions>("rain/Pool/InvalidPoolOptions")(
  "InvalidPoolOptions",
  {
    option: Schema.String,
    value: Schema.Unknown,
    expected: Schema.String
  }
) {
  override get message(): string {
    return `Pool option ${this.option} is ${show(this.value)}: it must be ${this.expected}.`
  }
}

/**
 * A pool could not start a worker (at start, on a restart or when growing): its `init`
 * failed, or the node it was placed on refused or could not be reached.
 *
 * @since 0.2.0
 * @category errors
 */
export class WorkerStartFailed extends Schema.TaggedError<WorkerStartFailed>("rain/Pool/WorkerStartFailed")(
  "WorkerStartFailed",
  {
    pool: Schema.String,
    node: Schema.String,
    reason: Schema.String
  }
) {
  override get message(): string {
    const reason = this.reason.replace(/\.+$/, "")
    return `Pool ${this.pool} could not start a worker on ${this.node}: ${reason}. Workers on another node need its network.allowSpawn to list their behaviour, and their args and messages to be registered classes or plain data.`
  }
}
