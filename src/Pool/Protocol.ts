/**
 * The requests a pool answers itself instead of forwarding them to a worker: `Resize` and
 * `GetStats`. Schema requests with `rain/Pool/...` identifiers, so that they work from
 * another node (list `Pool.messages` in both nodes' `network.messages`).
 *
 * @since 0.2.0
 */
import { Schema } from "effect"
import { Pid } from "../Process/Pid.js"
import { InvalidPoolOptions, WorkerStartFailed } from "./errors.js"

/**
 * A pool's figures: its workers (slot order), how many messages and calls it forwarded,
 * refused (`PoolBusy`, or dropped plain messages) and how many workers it restarted.
 *
 * @since 0.2.0
 * @category models
 */
export class Stats extends Schema.Class<Stats>("rain/Pool/Stats")({
  size: Schema.Number,
  workers: Schema.Array(Pid),
  strategy: Schema.Literal("round-robin", "least-busy"),
  forwarded: Schema.Number,
  rejected: Schema.Number,
  restarts: Schema.Number
}) {}

/**
 * Asks a pool for its `Stats`.
 *
 * @since 0.2.0
 * @category requests
 */
export class GetStats extends Schema.TaggedRequest<GetStats>("rain/Pool/GetStats")("GetStats", {
  failure: Schema.Never,
  success: Stats,
  payload: {}
}) {}

/**
 * Grows or shrinks a pool to `size` workers; answers the new size. Growing starts the new
 * workers before answering; shrinking stops the least busy workers with reason `shutdown`.
 *
 * @since 0.2.0
 * @category requests
 */
export class Resize extends Schema.TaggedRequest<Resize>("rain/Pool/Resize")("Resize", {
  failure: Schema.Union(InvalidPoolOptions, WorkerStartFailed),
  success: Schema.Number,
  payload: { size: Schema.Number }
}) {}
