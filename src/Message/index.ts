/**
 * The types that may cross nodes, and the wire codec every node uses for them.
 *
 * A message sent to another node may be a primitive, a byte array, a `Date`, a plain object
 * or array of such values, a pid, reference, alias or name, or an instance of a registered
 * Schema class (`Schema.Class`, `TaggedClass`, `TaggedRequest`, `TaggedError`). Anything else
 * is refused at the sender with {@link TypeNotRegistered}, and nothing is sent. Classes are
 * matched across nodes by their identifier, so both nodes register the same classes.
 *
 * Exit reasons, `Down`, `Exit`, `NodeDown`, `NodeUp`, `Timeout`, `From` and Rain's own errors
 * are registered already.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Message } from "rain"
 *
 * class Put extends Schema.TaggedClass<Put>()("Put", { key: Schema.String, value: Schema.Number }) {}
 * // on both nodes, or Node.start(name, { network: { messages: [Put], ... } })
 * const registered = Message.register(Put)
 * Effect.runSync(registered)
 * ```
 * @since 0.1.0
 */
import { Effect, Either, Schema } from "effect"
import * as codec from "./internal/codec.js"

export {
  /**
   * Re-exported from `./internal/codec`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  TypeNotRegistered
} from "./internal/codec.js"

/**
 * Any Schema class whose instances may cross nodes.
 *
 * @since 0.1.0
 */
export type Registrable = codec.WireClass

/**
 * Bytes from another node could not be decoded (garbage, or a class this node does not know).
 *
 * @since 0.1.0
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

/**
 * Registers Schema classes so that their instances can cross nodes (process-wide, for every
 * node of this process). Registering a class twice is a no-op.
 *
 * @since 0.1.0
 */
export const register = (...classes: ReadonlyArray<Registrable>): Effect.Effect<void> =>
  Effect.sync(() => codec.register(...classes))

/**
 * {@link register}, outside Effect (at module level, say).
 *
 * @since 0.1.0
 */
export const unsafeRegister = (...classes: ReadonlyArray<Registrable>): void => codec.register(...classes)

/**
 * Whether a value could be sent to another node as it is (every class in it registered).
 *
 * @since 0.1.0
 */
export const isSendable = (value: unknown): boolean => codec.unregisteredType(value) === undefined

/**
 * Encodes a value the way nodes do on the wire.
 *
 * @since 0.1.0
 */
export const encode = (value: unknown): Either.Either<Uint8Array, codec.TypeNotRegistered> => {
  const bad = codec.unregisteredType(value)
  if (bad !== undefined) return Either.left(new codec.TypeNotRegistered({ type: bad }))
  try {
    return Either.right(codec.pack(value))
  } catch (error) {
    return Either.left(
      new codec.TypeNotRegistered({ type: `a value its schema rejects (${error instanceof Error ? error.message : String(error)})` })
    )
  }
}

/**
 * Decodes bytes made by {@link encode} (on this node or another).
 *
 * @since 0.1.0
 */
export const decode = (bytes: Uint8Array): Either.Either<unknown, DecodeFailed> => {
  let value: unknown
  try {
    value = codec.unpack(bytes)
  } catch (error) {
    return Either.left(new DecodeFailed({ detail: error instanceof Error ? error.message : String(error) }))
  }
  const bad = codec.findUndecodable(value)
  return bad === undefined ? Either.right(value) : Either.left(new DecodeFailed({ type: bad.type, detail: bad.reason }))
}
