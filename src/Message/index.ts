/**
 * The registry of message types that may cross nodes, and the codec the wire uses.
 *
 * A value crosses the wire as msgpack. Primitives, `null`, `undefined`, `Uint8Array`s and
 * plain arrays/objects of them pass as they are; any class instance must be a registered
 * Schema class (`Schema.Class`, `Schema.TaggedClass`, `Schema.TaggedRequest`, ...): it is
 * encoded with its Schema, wrapped with its identifier, and decoded with the same Schema on
 * the other side. Registered values may nest (a `Pid` in a field of a message, a message in
 * a plain frame object). `Pid`, `Reference`, `Alias`, `Name` and every `ExitReason` are
 * registered in every registry.
 *
 * @since 0.1.0
 */
import { Effect, Either, ParseResult, Schema } from "effect"
import { addExtension, Packr } from "msgpackr"
import * as ExitReason from "../Process/ExitReason.js"
import { Alias, Name, Pid, Reference, unsafeMake } from "../Process/Pid.js"

/**
 * An instance of a class that is not registered was about to be sent.
 *
 * @since 0.1.0
 */
export class TypeNotRegistered extends Schema.TaggedError<TypeNotRegistered>()("TypeNotRegistered", {
  type: Schema.String
}) {
  override get message(): string {
    return `Type "${this.type}" is not registered for the wire: call Message.register(${this.type}) on both ` +
      `nodes before sending it (only primitives, Uint8Array and plain arrays/objects pass unregistered)`
  }
}

/**
 * A registered value failed its Schema's encoding (or the msgpack encoder refused it).
 *
 * @since 0.1.0
 */
export class EncodeFailed extends Schema.TaggedError<EncodeFailed>()("EncodeFailed", {
  type: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `Could not encode a value of type "${this.type}" for the wire: ${this.detail}. ` +
      `Check that the value matches its Schema (fields of type Schema.Unknown must hold wire-safe values)`
  }
}

/**
 * A received payload could not be decoded: corrupt bytes, an identifier this node has not
 * registered, or data its Schema rejects.
 *
 * @since 0.1.0
 */
export class DecodeFailed extends Schema.TaggedError<DecodeFailed>()("DecodeFailed", {
  type: Schema.optional(Schema.String),
  detail: Schema.String
}) {
  override get message(): string {
    return this.type === undefined
      ? `Could not decode a message from the wire: ${this.detail}`
      : `Could not decode a message of type "${this.type}": ${this.detail}. ` +
        `Call Message.register(${this.type}) on this node with the same Schema as the sender`
  }
}

/**
 * A message is larger than the connection's maximum message size.
 *
 * @since 0.1.0
 */
export class MessageTooLarge extends Schema.TaggedError<MessageTooLarge>()("MessageTooLarge", {
  size: Schema.Number,
  max: Schema.Number
}) {
  override get message(): string {
    return `Message of ${this.size} bytes exceeds the maximum message size of ${this.max} bytes: ` +
      `send smaller messages (split the data) or raise maxMessageSize on both nodes`
  }
}

/**
 * Any Schema class whose instances may be registered: `Schema.Class`, `Schema.TaggedClass`,
 * `Schema.TaggedRequest`, `Schema.TaggedError` (anything with a constructor and an identifier).
 *
 * @since 0.1.0
 */
export interface Registrable {
  new (...args: ReadonlyArray<any>): any
  readonly identifier: string
  readonly ast: Schema.Schema.AnyNoContext["ast"]
}

interface Entry {
  readonly id: string
  readonly ctor: abstract new (...args: ReadonlyArray<any>) => unknown
  readonly encode: (u: unknown) => Either.Either<unknown, ParseResult.ParseIssue>
  readonly decode: (u: unknown) => Either.Either<unknown, ParseResult.ParseIssue>
}

/**
 * A set of Schema classes that may cross nodes, by wire identifier and by constructor.
 *
 * @since 0.1.0
 */
export interface Registry {
  readonly byId: Map<string, Entry>
  readonly byCtor: Map<unknown, Entry>
}

const makeEntry = (id: string, schema: Registrable): Entry => {
  const s = schema as unknown as Schema.Schema<any, any, never>
  return {
    id,
    ctor: schema,
    encode: ParseResult.encodeUnknownEither(s),
    decode: ParseResult.decodeUnknownEither(s)
  }
}

/**
 * Registers classes in a registry, synchronously. Re-registering a class is a no-op; a
 * different class under an identifier already taken replaces it.
 *
 * @since 0.1.0
 */
export const unsafeRegisterIn = (registry: Registry, ...schemas: ReadonlyArray<Registrable>): void => {
  for (const schema of schemas) unsafeRegisterAs(registry, schema.identifier, schema)
}

/**
 * Registers one class under an explicit wire identifier (to avoid clashes between two
 * `TaggedClass`es with the same tag, or to keep identifiers short on the wire).
 *
 * @since 0.1.0
 */
export const unsafeRegisterAs = (registry: Registry, id: string, schema: Registrable): void => {
  const entry = makeEntry(id, schema)
  const previous = registry.byId.get(id)
  if (previous !== undefined) registry.byCtor.delete(previous.ctor)
  registry.byId.set(id, entry)
  registry.byCtor.set(schema, entry)
}

/**
 * Pids, references and aliases are in most frames: their codec skips the Schema machinery
 * (about 5x faster) and produces the same encoded form as their Schema.
 */
const identifierEntry = (klass: typeof Pid | typeof Reference | typeof Alias): Entry => ({
  id: klass.identifier,
  ctor: klass,
  encode: (u: any) => Either.right({ node: u.node, id: u.id, creation: u.creation }),
  decode: (u: any) =>
    typeof u === "object" && u !== null && typeof u.node === "string" && typeof u.id === "number" &&
      typeof u.creation === "number"
      ? Either.right(unsafeMake(klass, u.node, u.id, u.creation))
      : Either.left(new ParseResult.Type(klass.ast, u, `expected { node, id, creation }`))
})

const builtins = (registry: Registry): void => {
  unsafeRegisterIn(registry, Name)
  for (const klass of [Pid, Reference, Alias] as const) {
    const entry = identifierEntry(klass)
    registry.byId.set(entry.id, entry)
    registry.byCtor.set(klass, entry)
  }
  unsafeRegisterAs(registry, "rain/exit/normal", ExitReason.Normal)
  unsafeRegisterAs(registry, "rain/exit/shutdown", ExitReason.Shutdown)
  unsafeRegisterAs(registry, "rain/exit/kill", ExitReason.Kill)
  unsafeRegisterAs(registry, "rain/exit/killed", ExitReason.Killed)
  unsafeRegisterAs(registry, "rain/exit/noproc", ExitReason.NoProc)
  unsafeRegisterAs(registry, "rain/exit/noconnection", ExitReason.NoConnection)
  unsafeRegisterAs(registry, "rain/exit/error", ExitReason.Error)
}

/**
 * A new registry holding only the built-in types (pids, references, aliases, names, exit reasons).
 *
 * @since 0.1.0
 */
export const makeRegistry = (): Registry => {
  const registry: Registry = { byId: new Map(), byCtor: new Map() }
  builtins(registry)
  return registry
}

/**
 * The process-wide default registry, used when no registry is given.
 *
 * @since 0.1.0
 */
export const defaultRegistry: Registry = makeRegistry()

/**
 * Registers classes that may cross nodes in the default registry. Both nodes must register
 * the same classes (same identifiers, compatible Schemas).
 *
 * @example
 * ```ts
 * class Put extends Schema.TaggedClass<Put>()("Put", { key: Schema.String, value: Schema.Number }) {}
 * yield* Message.register(Put)
 * ```
 * @since 0.1.0
 */
export const register = (...schemas: ReadonlyArray<Registrable>): Effect.Effect<void> =>
  Effect.sync(() => unsafeRegisterIn(defaultRegistry, ...schemas))

/**
 * Registers classes in the given registry.
 *
 * @since 0.1.0
 */
export const registerIn = (registry: Registry, ...schemas: ReadonlyArray<Registrable>): Effect.Effect<void> =>
  Effect.sync(() => unsafeRegisterIn(registry, ...schemas))

/**
 * Whether a class (or the class of a value) is registered.
 *
 * @since 0.1.0
 */
export const isRegistered = (registry: Registry, ctorOrValue: unknown): boolean =>
  typeof ctorOrValue === "function"
    ? registry.byCtor.has(ctorOrValue)
    : typeof ctorOrValue === "object" && ctorOrValue !== null && registry.byCtor.has(ctorOrValue.constructor)

// ---------------------------------------------------------------------------------------
// Codec
// ---------------------------------------------------------------------------------------

/** The wire form of a registered value: its identifier and its Schema-encoded form. */
class Wrapped {
  constructor(readonly id: string, readonly value: unknown) {}
}

/** Thrown inside the msgpack decoder and caught by `decode`; never escapes this module. */
class DecodeAbort {
  constructor(readonly error: DecodeFailed) {}
}

/** Thrown inside the walker and caught by `encode`; never escapes this module. */
class EncodeAbort {
  constructor(readonly error: TypeNotRegistered | EncodeFailed) {}
}

// The msgpack extension is process-global (msgpackr's extension table is), so the registry
// used while decoding is passed through this variable: decoding is synchronous.
let decodingWith: Registry = defaultRegistry

const EXT_TYPE = 0x52 // "R"

addExtension({
  Class: Wrapped,
  type: EXT_TYPE,
  write: (w: Wrapped) => [w.id, w.value],
  read: (datum: any) => {
    if (!Array.isArray(datum) || datum.length !== 2 || typeof datum[0] !== "string") {
      throw new DecodeAbort(new DecodeFailed({ detail: "malformed registered value" }))
    }
    const entry = decodingWith.byId.get(datum[0])
    if (entry === undefined) {
      throw new DecodeAbort(new DecodeFailed({ type: datum[0], detail: "type not registered on the receiving node" }))
    }
    const r = entry.decode(datum[1])
    if (Either.isLeft(r)) {
      throw new DecodeAbort(
        new DecodeFailed({ type: datum[0], detail: ParseResult.TreeFormatter.formatIssueSync(r.left) })
      )
    }
    return r.right
  }
})

const packr = new Packr({ useRecords: false, moreTypes: false })
const unpackr = new Packr({ useRecords: false, mapsAsObjects: true })

const typeName = (u: object): string => {
  const ctor = (u as any).constructor
  return typeof ctor === "function" ? ((ctor as any).identifier ?? ctor.name ?? "anonymous class") : "object"
}

/**
 * Replaces registered instances by `Wrapped` values, copying a plain array or object only when
 * one of its children changed, so a frame of primitives is not copied at all.
 * Hot path: no closures, no allocation for values that need no change.
 */
const walk = (registry: Registry, u: unknown): unknown => {
  if (typeof u !== "object" || u === null) {
    if (typeof u === "function" || typeof u === "symbol") {
      throw new EncodeAbort(new EncodeFailed({ type: typeof u, detail: `a ${typeof u} cannot cross the wire` }))
    }
    return u
  }
  if (ArrayBuffer.isView(u)) return u
  if (Array.isArray(u)) {
    let out: Array<unknown> | undefined
    for (let i = 0; i < u.length; i++) {
      const v = u[i]
      const w = walk(registry, v)
      if (w !== v) {
        if (out === undefined) out = u.slice()
        out[i] = w
      }
    }
    return out ?? u
  }
  const proto = Object.getPrototypeOf(u)
  if (proto === Object.prototype || proto === null) {
    let out: Record<string, unknown> | undefined
    for (const k in u) {
      const v = (u as any)[k]
      const w = walk(registry, v)
      if (w !== v) {
        if (out === undefined) out = { ...u }
        out[k] = w
      }
    }
    return out ?? u
  }
  const entry = registry.byCtor.get(proto.constructor)
  if (entry === undefined) {
    if (u instanceof Date || u instanceof Map || u instanceof Set) return u
    throw new EncodeAbort(new TypeNotRegistered({ type: typeName(u) }))
  }
  const r = entry.encode(u)
  if (Either.isLeft(r)) {
    throw new EncodeAbort(new EncodeFailed({ type: entry.id, detail: ParseResult.TreeFormatter.formatIssueSync(r.left) }))
  }
  // Fields typed `Schema.Unknown` may hold registered values of their own.
  return new Wrapped(entry.id, walk(registry, r.right))
}

/**
 * Encodes a value to msgpack bytes: once per message, synchronously, without throwing.
 * The returned buffer is owned by the caller.
 *
 * @since 0.1.0
 */
export const encode = (
  value: unknown,
  registry: Registry = defaultRegistry
): Either.Either<Uint8Array, TypeNotRegistered | EncodeFailed> => {
  try {
    return Either.right(packr.pack(walk(registry, value)))
  } catch (e) {
    if (e instanceof EncodeAbort) return Either.left(e.error)
    return Either.left(new EncodeFailed({ type: typeof value, detail: String(e) }))
  }
}

/**
 * Decodes msgpack bytes produced by {@link encode}, with the Schemas of the given registry.
 *
 * @since 0.1.0
 */
export const decode = (
  bytes: Uint8Array,
  registry: Registry = defaultRegistry
): Either.Either<unknown, DecodeFailed> => {
  decodingWith = registry
  try {
    return Either.right(unpackr.unpack(bytes))
  } catch (e) {
    if (e instanceof DecodeAbort) return Either.left(e.error)
    return Either.left(new DecodeFailed({ detail: e instanceof globalThis.Error ? e.message : String(e) }))
  } finally {
    decodingWith = defaultRegistry
  }
}
