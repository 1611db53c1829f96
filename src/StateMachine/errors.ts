/**
 * The tagged errors a state machine crashes with when it is misused.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"

/**
 * The current state has no handler for an event it got. The machine crashes with this
 * reason (gen_statem crashes too); a caller waiting on a call gets `ProcessExited`.
 *
 * @since 0.2.0
 * @category errors
 */
export class EventNotHandled extends Schema.TaggedError<EventNotHandled>()("EventNotHandled", {
  machine: Schema.String,
  state: Schema.String,
  event: Schema.Literal("message", "call", "info", "timeout")
}) {
  override get message(): string {
    const handler = { message: "handleMessage", call: "handleCall", info: "handleInfo", timeout: "handleTimeout" }[this.event]
    return `${this.machine} got a ${this.event} in state "${this.state}", which has no ${handler}. Add ${handler} to that state, or postpone the event from a state that has one.`
  }
}

/**
 * A transition named a state the machine does not define (only possible by getting
 * around the types, e.g. with `as any` or from JavaScript).
 *
 * @since 0.2.0
 * @category errors
 */
export class UnknownState extends Schema.TaggedError<UnknownState>()("UnknownState", {
  machine: Schema.String,
  state: Schema.String,
  known: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `${this.machine} has no state "${this.state}" (its states: ${this.known.join(", ")}). Fix the transition or add the state to states.`
  }
}

/**
 * A handler returned something that is not a transition (use `nextState`, `keepState`,
 * `keepStateAndData`, `repeatState`, `repeatStateAndData` or `stop`), or an action not
 * allowed where it was used (`postpone` in `enter` or `init`).
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidTransition extends Schema.TaggedError<InvalidTransition>()("InvalidTransition", {
  machine: Schema.String,
  state: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.machine} in state "${this.state}": ${this.detail}.`
  }
}
