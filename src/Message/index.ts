/**
 * The types that may cross nodes, and the wire codec every node uses for them.
 *
 * A message sent to another node may be a primitive, a byte array, a `Date`, a plain object
 * or array of such values, a pid, reference, alias or name, or an instance of a registered
 * Schema class (`Schema.Class`, `TaggedClass`, `TaggedRequest`, `TaggedError`). Anything else
 * is refused at the sender with {@link TypeNotRegistered}, and nothing is sent. Classes are
 * matched across nodes by their identifier, so both nodes register the same classes.
 *
 * Every instance of a registered class is validated by its schema both ways: at the sender
 * (a failure is {@link EncodeFailed}, nothing is sent) and at the receiver (a failure is
 * logged with the type and the field, counted, and the message dropped; a call fails with
 * {@link DecodeFailed}).
 *
 * Exit reasons, `Down`, `Exit`, `NodeDown`, `NodeUp`, `IdleTimeout`, `From` and Rain's own
 * errors are registered already, under namespaced identifiers (`rain/Process/Down`,
 * `rain/Process/Timeout`, ...): pick identifiers of your own that do not start with `rain/`.
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
import { Effect, Either } from "effect"
import { DecodeFailed, EncodeFailed, TypeNotRegistered } from "./errors.js"
import * as codec from "./internal/codec.js"

export {
  /**
   * Bytes from another node could not be decoded (garbage, a class this node does not
   * know, or a value its schema rejects here).
   *
   * @since 0.1.0
   * @category errors
   */
  DecodeFailed,
  /**
   * A value of a registered class was refused by its schema at the sender; nothing was sent.
   *
   * @since 0.2.0
   * @category errors
   */
  EncodeFailed,
  /**
   * A value of a type that is not registered for the wire was sent to another node.
   *
   * @since 0.1.0
   * @category errors
   */
  TypeNotRegistered
} from "./errors.js"

/**
 * Any Schema class whose instances may cross nodes.
 *
 * @since 0.1.0
 * @category models
 */
export type Registrable = codec.WireClass

/**
 * Registers Schema classes so that their instances can cross nodes (process-wide, for every
 * node of this process). Registering a class twice is a no-op. Every instance is validated by
 * its class's schema when it is sent (a failure is the sender's `EncodeFailed`) and when it is
 * received (a failure is logged with the type and the field, counted, and the message dropped).
 *
 * @since 0.1.0
 * @category registration
 */
export const register = (...classes: ReadonlyArray<Registrable>): Effect.Effect<void> =>
  Effect.sync(() => codec.register(...classes))

/**
 * {@link register}, outside Effect (at module level, say).
 *
 * @since 0.1.0
 * @category registration
 */
export const unsafeRegister = (...classes: ReadonlyArray<Registrable>): void => codec.register(...classes)

/**
 * Whether a value could be sent to another node as it is (every class in it registered,
 * every instance accepted by its schema).
 *
 * @since 0.1.0
 * @category encoding
 */
export const isSendable = (value: unknown): boolean => !codec.isRefusal(codec.prepare(value))

/**
 * Encodes a value the way nodes do on the wire, validating every registered class's
 * instance in it.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encode = (value: unknown): Either.Either<Uint8Array, TypeNotRegistered | EncodeFailed> => {
  const prepared = codec.prepare(value)
  if (codec.isRefusal(prepared)) return Either.left(prepared)
  try {
    return Either.right(codec.pack(prepared))
  } catch (error) {
    // a class instance nested in a field that its schema does not describe (Schema.Unknown)
    return Either.left(
      new EncodeFailed({ type: "a nested value", path: "", detail: error instanceof Error ? error.message : String(error) })
    )
  }
}

/**
 * Decodes bytes made by {@link encode} (on this node or another), validating every
 * registered class's instance in them.
 *
 * @since 0.1.0
 * @category encoding
 */
export const decode = (bytes: Uint8Array): Either.Either<unknown, DecodeFailed> => {
  let value: unknown
  try {
    value = codec.unpack(bytes)
  } catch (error) {
    return Either.left(new DecodeFailed({ detail: error instanceof Error ? error.message : String(error) }))
  }
  const bad = codec.findUndecodable(value)
  return bad === undefined
    ? Either.right(value)
    : Either.left(new DecodeFailed({ type: bad.type, path: bad.path, detail: bad.reason }))
}
