/**
 * The messages and errors of events: what subscribers receive, and what the event relays
 * of two nodes say to each other. All are Schema classes registered for the wire.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"
import { ExitReason } from "../Process/ExitReason.js"
import { Pid } from "../Process/Pid.js"
import * as codec from "../Message/internal/codec.js"

/**
 * An event's address: its name and the node of its producer (Ergo's `gen.Event`).
 *
 * @since 0.2.0
 * @category models
 */
export class EventName extends Schema.Class<EventName>("rain/Event/Name")({
  name: Schema.String,
  node: Schema.String
}) {
  /**
   * `name@{node}`.
   *
   * @since 0.2.0
   */
  override toString(): string {
    return `${this.name}@{${this.node}}`
  }
}

/**
 * What `Event.register` returns: whoever holds it may publish to the event or unregister it
 * (Ergo's `gen.Ref` token). It never needs to leave its node.
 *
 * @since 0.2.0
 * @category models
 */
export class Token extends Schema.Class<Token>("rain/Event/Token")({
  event: EventName,
  secret: Schema.String
}) {}

/**
 * One publication, as every subscriber receives it in `handleMessage` (Ergo's
 * `gen.MessageEvent`): the event, the producer's Clock time in milliseconds, the message.
 *
 * @since 0.2.0
 * @category messages
 */
export class EventMessage extends Schema.TaggedClass<EventMessage>("rain/Event/Message")("EventMessage", {
  event: EventName,
  timestamp: Schema.Number,
  message: Schema.Unknown
}) {}

/**
 * The event a process monitors is gone (Ergo's `gen.MessageDownEvent`), delivered once in
 * `handleMessage`: its producer ended (`reason` is the producer's exit reason), unregistered it
 * (`shutdown` with detail `"unregistered"`), or its node is no longer connected (`noconnection`).
 * A linked subscriber gets an exit signal with the same reason instead, from the producer's pid.
 *
 * @since 0.2.0
 * @category messages
 */
export class EventDown extends Schema.TaggedClass<EventDown>("rain/Event/Down")("EventDown", {
  event: EventName,
  reason: ExitReason
}) {}

/**
 * The event got its first subscriber (on any node), sent to its producer when it registered the
 * event with `notify: true` (Ergo's `gen.MessageEventStart`): time to start producing.
 *
 * @since 0.2.0
 * @category messages
 */
export class EventStart extends Schema.TaggedClass<EventStart>("rain/Event/Start")("EventStart", {
  event: EventName
}) {}

/**
 * The event lost its last subscriber, sent to its producer when it registered the event with
 * `notify: true` (Ergo's `gen.MessageEventStop`).
 *
 * @since 0.2.0
 * @category messages
 */
export class EventStop extends Schema.TaggedClass<EventStop>("rain/Event/Stop")("EventStop", { event: EventName }) {}

/**
 * `Event.register` with a name that a live event on this node already has.
 *
 * @since 0.2.0
 * @category errors
 */
export class EventTaken extends Schema.TaggedError<EventTaken>()("EventTaken", { name: Schema.String }) {
  override get message(): string {
    return `An event named "${this.name}" is registered on this node already: pick another name, or publish to it with its token.`
  }
}

/**
 * No event of that name exists (or its node could not be reached).
 *
 * @since 0.2.0
 * @category errors
 */
export class EventUnknown extends Schema.TaggedError<EventUnknown>()("EventUnknown", {
  event: EventName,
  reason: Schema.String
}) {
  override get message(): string {
    return `No event ${this.event.name} on ${this.event.node}: ${this.reason}. Its producer registers it with Event.register; link or monitor it after that.`
  }
}

/**
 * A token that does not (or no longer) name a registered event.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidToken extends Schema.TaggedError<InvalidToken>()("InvalidToken", { event: Schema.String }) {
  override get message(): string {
    return `This token does not publish to event "${this.event}": the event was unregistered, its producer ended, or the token is from another node or registration. Register the event again and use the new token.`
  }
}

/**
 * An event option out of range (a negative or fractional buffer, an empty name).
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidEventOption extends Schema.TaggedError<InvalidEventOption>()("InvalidEventOption", {
  option: Schema.String,
  value: Schema.Unknown,
  expected: Schema.String
}) {
  override get message(): string {
    return `Event option ${this.option} is ${typeof this.value === "string" && this.option === "buffer" ? JSON.stringify(this.value) : String(this.value)}: it must be ${this.expected}.`
  }
}

/**
 * The process already links or monitors that event; unsubscribe first.
 *
 * @since 0.2.0
 * @category errors
 */
export class AlreadySubscribed extends Schema.TaggedError<AlreadySubscribed>()("AlreadySubscribed", {
  event: EventName
}) {
  override get message(): string {
    return `This process already links or monitors event ${this.event.name} on ${this.event.node}: call Event.unlink or Event.demonitor first.`
  }
}

/**
 * Relay to relay: a node subscribes to an event of another node, once for all its subscribers.
 *
 * @since 0.2.0
 * @category internal
 */
export class RemoteSubscribe extends Schema.TaggedClass<RemoteSubscribe>("rain/Event/RemoteSubscribe")(
  "RemoteSubscribe",
  { name: Schema.String, relay: Pid }
) {}

/**
 * Relay to relay: the node no longer has subscribers to the event.
 *
 * @since 0.2.0
 * @category internal
 */
export class RemoteUnsubscribe extends Schema.TaggedClass<RemoteUnsubscribe>("rain/Event/RemoteUnsubscribe")(
  "RemoteUnsubscribe",
  { name: Schema.String, node: Schema.String }
) {}

/**
 * Relay to relay: the answer to `RemoteSubscribe`, with the buffer, or `found: false`.
 *
 * @since 0.2.0
 * @category internal
 */
export class RemoteSubscribed extends Schema.TaggedClass<RemoteSubscribed>("rain/Event/RemoteSubscribed")(
  "RemoteSubscribed",
  {
    event: EventName,
    found: Schema.Boolean,
    producer: Schema.optional(Pid),
    bufferSize: Schema.Number,
    buffer: Schema.Array(EventMessage)
  }
) {}

codec.register(
  EventName,
  Token,
  EventMessage,
  EventDown,
  EventStart,
  EventStop,
  EventTaken,
  EventUnknown,
  InvalidToken,
  InvalidEventOption,
  AlreadySubscribed,
  RemoteSubscribe,
  RemoteUnsubscribe,
  RemoteSubscribed
)
