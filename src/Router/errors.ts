/**
 * The tagged errors of routers.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"

/**
 * A router was asked to route with no routees.
 *
 * @since 0.2.0
 * @category errors
 */
export class NoRoutees extends Schema.TaggedError<NoRoutees>("rain/Router/NoRoutees")("NoRoutees", {
  logic: Schema.String
}) {
  override get message(): string {
    return `The ${this.logic} router has no routees to send to. Give it addresses (Router.make, Router.withRoutees, or a SetRoutees request to a router process).`
  }
}

/**
 * A router's logic or routees are unusable: a bad `virtualNodes`, or the same routee twice.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidRouter extends Schema.TaggedError<InvalidRouter>("rain/Router/InvalidRouter")("InvalidRouter", {
  reason: Schema.String
}) {
  override get message(): string {
    return `Invalid router: ${this.reason}.`
  }
}
