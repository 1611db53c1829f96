/**
 * The errors of the wire codec: a value of a class that is not registered, a value its
 * class's schema rejects at the sender (`EncodeFailed`) or at the receiver (`DecodeFailed`).
 * They are Schema classes themselves, so that a remote `call` can fail with them.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"

/**
 * A value of a type that is not registered for the wire was sent to another node.
 *
 * @since 0.1.0
 * @category errors
 */
export class TypeNotRegistered extends Schema.TaggedError<TypeNotRegistered>("rain/Message/TypeNotRegistered")(
  "TypeNotRegistered",
  { type: Schema.String }
) {
  override get message(): string {
    return `Values of type ${this.type} cannot cross nodes: make it a Schema class and register it on both nodes (Message.register(${this.type}), or the node's network.messages).`
  }
}

/**
 * A message (or a call's request or reply) of a registered class was refused at the sender
 * because its class's schema rejects it: nothing was sent. `path` names the field at fault
 * (`.text`, `.items.3.price`), `detail` is the schema's message.
 *
 * @example
 * ```ts
 * const error = yield* Effect.flip(ctx.send(remote, new Put({ key: 42 as any, value: 1 })))
 * // EncodeFailed: Put was refused by its schema at .key: Expected string, actual 42
 * ```
 * @since 0.2.0
 * @category errors
 */
export class EncodeFailed extends Schema.TaggedError<EncodeFailed>("rain/Message/EncodeFailed")("EncodeFailed", {
  type: Schema.String,
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.type} was refused by its schema${this.path === "" ? "" : ` at ${this.path}`}: ${this.detail}. Build it with its constructor (which validates) rather than a cast.`
  }
}

/**
 * Bytes from another node could not be decoded: garbage, a class this node does not
 * know, or a value its class's schema rejects here (`path` names the field at fault). A
 * remote `call` whose request or reply fails so fails with it at once.
 *
 * @since 0.1.0
 * @category errors
 */
export class DecodeFailed extends Schema.TaggedError<DecodeFailed>("rain/Message/DecodeFailed")("DecodeFailed", {
  type: Schema.optional(Schema.String),
  path: Schema.optional(Schema.String),
  detail: Schema.String
}) {
  override get message(): string {
    if (this.type === undefined) return `Could not decode a message: ${this.detail}`
    if (this.path !== undefined) {
      return `Could not decode a message of type ${this.type}${this.path === "" ? "" : ` at ${this.path}`}: ${this.detail}. Both nodes must register the same version of the class.`
    }
    return `Could not decode a message of type ${this.type}: ${this.detail}. Register it on this node too (Message.register(${this.type}))`
  }
}
