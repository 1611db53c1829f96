/**
 * The requests a router process answers itself: `SetRoutees` and `GetRoutees`, with
 * `rain/Router/...` identifiers so that they work from another node.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"
import { Name, Pid } from "../Process/Pid.js"
import { InvalidRouter } from "./errors.js"

/**
 * Replaces the routees of a router process; answers their number. Fails with `InvalidRouter`.
 *
 * @since 0.2.0
 * @category requests
 */
export class SetRoutees extends Schema.TaggedRequest<SetRoutees>("rain/Router/SetRoutees")("SetRoutees", {
  failure: InvalidRouter,
  success: Schema.Number,
  payload: { routees: Schema.Array(Schema.Union(Pid, Name, Schema.String)) }
}) {}

/**
 * Asks a router process for its routees.
 *
 * @since 0.2.0
 * @category requests
 */
export class GetRoutees extends Schema.TaggedRequest<GetRoutees>("rain/Router/GetRoutees")("GetRoutees", {
  failure: Schema.Never,
  success: Schema.Array(Schema.Union(Pid, Name, Schema.String)),
  payload: {}
}) {}
