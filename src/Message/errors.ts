/**
 * The errors of the wire codec: a value that may not cross nodes, and bytes that do not
 * decode. Re-exported by the Message module (and `TypeNotRegistered` by the Node module).
 *
 * @since 0.2.0
 */
import { Schema } from "effect"

/**
 * A message of a type that is not registered for the wire was sent to another node.
 *
 * @since 0.1.0
 * @category errors
 */
export class TypeNotRegistered extends Schema.TaggedError<TypeNotRegistered>()("TypeNotRegistered", {
  type: Schema.String
}) {
  override get message(): string {
    return `Values of type ${this.type} cannot cross nodes: make it a Schema class and register it on both nodes (Message.register(${this.type}), or the node's network.messages).`
  }
}

/**
 * Bytes from another node could not be decoded (garbage, or a class this node does not know).
 *
 * @since 0.1.0
 * @category errors
 */
export class DecodeFailed extends Schema.TaggedError<DecodeFailed>()("DecodeFailed", {
  type: Schema.optional(Schema.String),
  detail: Schema.String
}) {
  override get message(): string {
    return this.type === undefined
      ? `Could not decode a message: ${this.detail}`
      : `Could not decode a message of type ${this.type}: ${this.detail}. Register it on this node too (Message.register(${this.type}))`
  }
}
