/**
 * Value encoding for the wire: msgpack (msgpackr) with extensions for pids, references,
 * aliases, names and every registered Schema class. A message may be a primitive, a
 * byte array, a plain object or array of such values, an identifier, or an instance of
 * a registered class; anything else is refused at the sender with `TypeNotRegistered`.
 *
 * Every instance of a registered class is validated by its schema both ways, whatever
 * its size: at the sender when the message is sent ({@link prepare}: a failure is the
 * sender's `EncodeFailed`, nothing is sent), at the receiver when it is decoded (a
 * failure becomes an {@link Undecodable} that names the type and the field, and the
 * receiver drops the message). Each class gets its validators built once, at register
 * time; a class whose fields are all strings, numbers, booleans or literals is checked
 * by a plain loop over its fields (no Schema parser, no allocation) and falls back to
 * the Schema parser only to explain a failure.
 *
 * @internal
 */
import { Cause, Exit, ParseResult, Schema, SchemaAST } from "effect"
import { addExtension, Packr, Unpackr } from "msgpackr"
import * as Errors from "../../Process/errors.js"
import * as Reason from "../../Process/ExitReason.js"
import * as Msg from "../../Process/Message.js"
import { Alias, Name, Pid, Reference, unsafeMake } from "../../Process/Pid.js"
import { DecodeFailed, EncodeFailed, TypeNotRegistered } from "../errors.js"

export { DecodeFailed, EncodeFailed, TypeNotRegistered }

/** Any Schema class (TaggedClass, TaggedError, Class, TaggedRequest). */
export type WireClass = Schema.Schema<any, any, never> & { readonly identifier: string; new(...args: any): any }

/** A value its class's schema rejects, as returned by an entry's `toWire`/`fromWire`. */
class Invalid {
  constructor(readonly issue: ParseResult.ParseIssue) {}
}

/** Field kinds a plain loop can check exactly (Schema.String, Number, Boolean, literals). */
const K_STRING = 0
const K_NUMBER = 1
const K_BOOLEAN = 2
const K_LITERAL = 3

/** The fields of a class, when every one is of a kind a plain loop checks exactly. */
interface Plain {
  readonly keys: ReadonlyArray<string>
  readonly kinds: ReadonlyArray<number>
  readonly literals: ReadonlyArray<unknown>
  /** A 32-bit hash of the names, kinds and literals: both nodes' versions of the class agree on it. */
  readonly shape: number
}

interface Entry {
  readonly id: string
  /**
   * Validates an instance and returns its wire form, or `Invalid`: `[id, shape, ...values]`
   * for a class of plain fields, `[id, encoded fields]` for any other.
   */
  readonly toWire: (u: unknown) => unknown
  /** Validates a wire form (as `toWire` makes it) and returns an instance, or `Invalid`. */
  readonly fromWire: (w: ReadonlyArray<unknown>) => unknown
  /** The wire form of fields, unchecked (see `unsafeEncoded`). */
  readonly unsafeWire: (fields: Record<string, unknown>) => ReadonlyArray<unknown>
}

const byClass = new Map<unknown, Entry>()
const byId = new Map<string, Entry>()

const T_PID = 0x51
const T_REF = 0x52
const T_ALIAS = 0x53
const T_NAME = 0x54
const T_CLASS = 0x55
/** Never on the wire: the key of `bytesExtension`. */
const T_BYTES = 0x56

/**
 * Registers Schema classes so that their instances can cross nodes. Both nodes must
 * register the same classes (matched by identifier).
 */
export const register = (...classes: ReadonlyArray<WireClass>): void => {
  let added = false
  for (const klass of classes) {
    if (byClass.has(klass)) continue
    added = true
    const entry = makeEntry(klass)
    byClass.set(klass, entry)
    byId.set(entry.id, entry)
    addExtension({
      Class: klass,
      type: T_CLASS,
      write: (value: unknown) => {
        // Nested inside a plain structure (validated by `prepare` at send time) or inside
        // a field of another class: encoded here, at the end of the run.
        const wire = entry.toWire(value)
        if (wire instanceof Invalid) throw new Error(`${entry.id}: ${describe(wire.issue)}`)
        return wire
      },
      read: readClass
    })
  }
  // msgpackr tries its extensions in turn with `instanceof`, newest first: the one every
  // message takes comes first again (behind Rain's ~40 classes it made a message ~3x slower).
  if (added) {
    addExtension(bytesExtension)
    addExtension(encodedExtension)
  }
}

const makeEntry = (klass: WireClass): Entry => {
  const id = klass.identifier
  const fields = (klass as unknown as { readonly fields?: Record<string, Schema.Struct.Field> }).fields
  if (fields !== undefined && isIdentity(fields)) {
    // The encoded form is the fields as they are: validate them, copy them.
    const validate = ParseResult.validateEither(Schema.Struct(fields))
    const proto = klass.prototype
    const plain = plainFields(fields)
    if (plain !== undefined) {
      // Positional: [id, shape, ...the values of the non-literal fields, in declaration order].
      // No keys on the wire (half the work of a map for msgpack, both ways); `shape`, a hash
      // of the field names, kinds and literals, tells a sender with another version of the
      // class from one with the same, so a reordered or renamed field is refused, not misread.
      const { keys, kinds, literals, shape } = plain
      const values: Array<number> = []
      for (let i = 0; i < keys.length; i++) if (kinds[i] !== K_LITERAL) values.push(i)
      const otherVersion = (w: ReadonlyArray<unknown>): Invalid =>
        new Invalid(
          new ParseResult.Type(
            SchemaAST.unknownKeyword,
            w,
            `the sender's ${id} has other fields (${w.length - 2}) than this node's (${keys.join(", ")}): register the same version of the class on both nodes`
          )
        )
      return {
        id,
        unsafeWire: (fields) => [id, shape, ...values.map((i) => fields[keys[i]!])],
        toWire: (u) => {
          if (!checkPlain(plain, u)) return explain(validate(u))
          const out: Array<unknown> = new Array(values.length + 2)
          out[0] = id
          out[1] = shape
          for (let j = 0; j < values.length; j++) out[j + 2] = (u as Record<string, unknown>)[keys[values[j]!]!] // j < values.length, values index keys
          return out
        },
        fromWire: (w) => {
          if (w.length !== values.length + 2 || w[1] !== shape) return otherVersion(w)
          const out = Object.create(proto)
          for (let i = 0, j = 2; i < keys.length; i++) out[keys[i]!] = kinds[i] === K_LITERAL ? literals[i] : w[j++] // i < keys.length
          return checkPlain(plain, out) ? out : explain(validate(out))
        }
      }
    }
    return {
      id,
      unsafeWire: (fields) => [id, fields],
      toWire: (u) => {
        const r = validate(u)
        return r._tag === "Left" ? new Invalid(r.left) : [id, r.right]
      },
      fromWire: (w) => {
        const r = validate(w[1])
        return r._tag === "Left" ? new Invalid(r.left) : Object.assign(Object.create(proto), r.right)
      }
    }
  }
  const encode = ParseResult.encodeEither(klass)
  const decode = ParseResult.decodeUnknownEither(klass)
  return {
    id,
    unsafeWire: (fields) => [id, fields],
    toWire: (u) => {
      const r = encode(u)
      return r._tag === "Left" ? new Invalid(r.left) : [id, r.right]
    },
    fromWire: (w) => {
      const r = decode(w[1])
      return r._tag === "Left" ? new Invalid(r.left) : r.right
    }
  }
}

/** The Schema parser's verdict on a value the plain loop refused (it refuses only what the parser does). */
const explain = (r: ReturnType<ReturnType<typeof ParseResult.validateEither>>): Invalid =>
  new Invalid(r._tag === "Left" ? r.left : new ParseResult.Type(SchemaAST.unknownKeyword, r.right, "rejected"))

/**
 * A field's type AST and whether it is optional, when the field encodes as it is: a Schema
 * or a plain property signature (the `_tag` of a TaggedClass, `Schema.optional(...)`);
 * undefined for a property signature with a transformation (renamed keys, defaults).
 */
const fieldType = (field: Schema.Struct.Field): { readonly ast: SchemaAST.AST; readonly optional: boolean } | undefined => {
  if (Schema.isSchema(field)) return { ast: field.ast, optional: false }
  const ast = field.ast
  return ast._tag === "PropertySignatureDeclaration" ? { ast: ast.type, optional: ast.isOptional } : undefined
}

/**
 * Whether a class's encoded form is its own fields unchanged (every field a Schema with
 * no transformation, like String, Number, Uint8ArrayFromSelf).
 */
const isIdentity = (fields: Record<string, Schema.Struct.Field>): boolean => {
  for (const field of Object.values(fields)) {
    const type = fieldType(field)
    if (type === undefined || SchemaAST.encodedAST(type.ast) !== type.ast) return false
  }
  return true
}

/** The plain-loop form of fields that are all strings, numbers, booleans or literals (the tag included). */
const plainFields = (fields: Record<string, Schema.Struct.Field>): Plain | undefined => {
  const keys: Array<string> = []
  const kinds: Array<number> = []
  const literals: Array<unknown> = []
  for (const [key, field] of Object.entries(fields)) {
    const type = fieldType(field)
    if (type === undefined || type.optional) return undefined
    const ast = type.ast
    keys.push(key)
    literals.push(undefined)
    switch (ast._tag) {
      case "StringKeyword":
        kinds.push(K_STRING)
        break
      case "NumberKeyword":
        kinds.push(K_NUMBER)
        break
      case "BooleanKeyword":
        kinds.push(K_BOOLEAN)
        break
      case "Literal":
        kinds.push(K_LITERAL)
        literals[literals.length - 1] = ast.literal
        break
      default:
        return undefined
    }
  }
  let text = ""
  for (let i = 0; i < keys.length; i++) text += `${keys[i]}:${kinds[i]}:${String(literals[i])};`
  return { keys, kinds, literals, shape: fnv1a(text) }
}

/** FNV-1a, 32 bits. */
const fnv1a = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** Hot path (every message of a plain class, both ways): a loop, no allocation. */
const checkPlain = (plain: Plain, u: unknown): boolean => {
  if (u === null || typeof u !== "object") return false
  const { keys, kinds, literals } = plain
  for (let i = 0; i < keys.length; i++) {
    // keys, kinds and literals have the same length (plainFields pushes to all three), and i < keys.length
    const v = (u as Record<string, unknown>)[keys[i]!]
    switch (kinds[i]) {
      case K_STRING:
        if (typeof v !== "string") return false
        break
      case K_NUMBER:
        if (typeof v !== "number") return false
        break
      case K_BOOLEAN:
        if (typeof v !== "boolean") return false
        break
      default:
        if (v !== literals[i]) return false
    }
  }
  return true
}

/** A parse issue as the field path at fault (`.text`, `.items.3`; "" for the value itself). */
export const issuePath = (issue: ParseResult.ParseIssue): string => {
  const first = ParseResult.ArrayFormatter.formatIssueSync(issue)[0]
  return first === undefined || first.path.length === 0 ? "" : `.${first.path.map(String).join(".")}`
}

/** A parse issue in one line: each problem with its path. */
export const describe = (issue: ParseResult.ParseIssue): string =>
  ParseResult.ArrayFormatter.formatIssueSync(issue)
    .map((i) => (i.path.length === 0 ? i.message : `.${i.path.map(String).join(".")}: ${i.message}`))
    .join("; ")

/** The first problem of a parse issue, without its path. */
const firstMessage = (issue: ParseResult.ParseIssue): string =>
  ParseResult.ArrayFormatter.formatIssueSync(issue)[0]?.message ?? "rejected by its schema"

/**
 * A registered class's instance already validated and encoded at the sender: what a
 * frame carries in place of the instance, written as the instance would be.
 */
export class Encoded {
  /** `wire`: what the class's extension carries, `[identifier, ...]` (see `Entry.toWire`). */
  constructor(readonly wire: ReadonlyArray<unknown>) {}
}

/**
 * What a node with the same version of class `id` would put on the wire for `fields`,
 * unchecked: for tests that play a peer whose values this node's schema rejects.
 */
export const unsafeEncoded = (id: string, fields: Record<string, unknown>): Encoded => {
  const entry = byId.get(id)
  return new Encoded(entry === undefined ? [id, fields] : entry.unsafeWire(fields))
}

/**
 * What a value of an unknown class, or one its schema rejects, decodes to: the rest of
 * the batch still decodes, and the receiver drops the message that holds it. `path` is
 * the field at fault when the class is registered here but its schema rejects the value.
 */
export class Undecodable {
  constructor(
    readonly type: string,
    readonly reason: string,
    readonly path?: string
  ) {}

  /** The receiver's error for it. */
  toError(): DecodeFailed | TypeNotRegistered {
    return this.path === undefined
      ? new TypeNotRegistered({ type: this.type })
      : new DecodeFailed({ type: this.type, path: this.path, detail: this.reason })
  }

  /** One line for the receiver's log: type, field, what is wrong. */
  describe(): string {
    return this.path === undefined
      ? `${this.type} (${this.reason})`
      : `${this.type}${this.path === "" ? "" : ` at ${this.path}`}: ${this.reason}`
  }
}

let undecodables = 0

/** How many undecodable values were met so far (a batch that raised it needs a closer look). */
export const undecodableCount = (): number => undecodables

/** The first undecodable value inside a decoded value, if any. */
export const findUndecodable = (value: unknown, depth = 0): Undecodable | undefined => {
  if (value instanceof Undecodable) return value
  if (value === null || typeof value !== "object" || depth > 64 || ArrayBuffer.isView(value)) return undefined
  for (const key in value) {
    const found = findUndecodable((value as Record<string, unknown>)[key], depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}

const readClass = (data: ReadonlyArray<unknown>): unknown => {
  if (!Array.isArray(data) || typeof data[0] !== "string") {
    undecodables++
    return new Undecodable("an unknown class", "a class extension that is not [identifier, ...]")
  }
  const entry = byId.get(data[0])
  if (entry === undefined) {
    undecodables++
    return new Undecodable(data[0], "the class is not registered on this node")
  }
  let value: unknown
  try {
    value = entry.fromWire(data)
  } catch (error) {
    undecodables++
    return new Undecodable(data[0], error instanceof Error ? error.message : String(error), "")
  }
  if (value instanceof Invalid) {
    undecodables++
    return new Undecodable(data[0], firstMessage(value.issue), issuePath(value.issue))
  }
  return value
}

const encodedExtension = {
  Class: Encoded,
  type: T_CLASS,
  write: (e: Encoded) => e.wire,
  read: readClass
}

/**
 * Byte arrays (`Uint8Array`, `Buffer`) as msgpack `bin`, exactly as msgpackr writes them,
 * but found second rather than last: msgpackr tries its extensions in turn with
 * `instanceof`, and its own byte-array one comes after every registered class (~40
 * `instanceof` checks against Schema classes, ~12 us for one 1 KiB payload, measured with
 * bench/remote-cpu.ts). Nothing is written with `T_BYTES`: the type is only the key
 * msgpackr requires, and reading it fails as any unknown extension type does.
 */
const bytesExtension = {
  Class: Uint8Array,
  type: T_BYTES,
  pack: (
    bytes: Uint8Array,
    allocateForWrite: (size: number) => { target: Uint8Array; position: number; targetView: DataView }
  ): undefined => {
    const length = bytes.byteLength
    const header = length < 0x100 ? 2 : length < 0x10000 ? 3 : 5
    const { position, target, targetView } = allocateForWrite(header + length)
    if (header === 2) {
      target[position] = 0xc4
      target[position + 1] = length
    } else if (header === 3) {
      target[position] = 0xc5
      target[position + 1] = length >> 8
      target[position + 2] = length & 0xff
    } else {
      target[position] = 0xc6
      targetView.setUint32(position + 1, length)
    }
    target.set(bytes, position + header)
    return undefined
  },
  unpack: (): never => {
    throw new Error(`Unknown extension type ${T_BYTES}`)
  }
  // msgpackr's typings leave out `pack`'s second argument (and its returning nothing)
} as unknown as Parameters<typeof addExtension>[0]
addExtension(bytesExtension)
addExtension(encodedExtension)

const idExtension = (Class: typeof Pid | typeof Reference | typeof Alias, type: number) =>
  addExtension({
    Class,
    type,
    write: (v: Pid) => [v.node, v.id, v.creation],
    read: (d: [string, number, number]) => unsafeMake(Class, d[0], d[1], d[2])
  })
idExtension(Pid, T_PID)
idExtension(Reference, T_REF)
idExtension(Alias, T_ALIAS)
addExtension({
  Class: Name,
  type: T_NAME,
  write: (v: Name) => [v.name, v.node],
  read: (d: [string, string]) => new Name({ name: d[0], node: d[1] }, true)
})

register(
  Reason.Normal,
  Reason.Shutdown,
  Reason.Kill,
  Reason.Killed,
  Reason.NoProc,
  Reason.NoConnection,
  Reason.Error,
  Msg.Down,
  Msg.Exit,
  Msg.NodeDown,
  Msg.NodeUp,
  Msg.IdleTimeout,
  Msg.From,
  Errors.ProcessUnknown,
  Errors.Timeout,
  Errors.ProcessExited,
  Errors.MailboxFull,
  Errors.NoConnection,
  Errors.InitFailed,
  Errors.NameTaken,
  Errors.AlreadyRegistered,
  Errors.TooManyProcesses,
  Errors.NodeStopped,
  Errors.MessageTooLarge,
  Errors.CallNotHandled,
  Errors.SpawnRefused,
  Errors.NotDistributed,
  TypeNotRegistered,
  EncodeFailed,
  DecodeFailed
)

/**
 * Hot path (every remote send, call and reply, at the sender): checks a value now, so
 * that the sender gets the error and nothing is sent. A registered class's instance is
 * validated and encoded here, once, and travels as an {@link Encoded}; anything else is
 * walked for unregistered types and invalid instances and travels as it is. Returns what
 * the frame carries, or the refusal (`TypeNotRegistered` or `EncodeFailed`).
 */
export const prepare = (value: unknown): unknown => {
  if (value !== null && typeof value === "object") {
    const entry = byClass.get(value.constructor)
    if (entry !== undefined) {
      const wire = entry.toWire(value)
      return wire instanceof Invalid ? encodeFailed(entry.id, wire.issue) : new Encoded(wire as ReadonlyArray<unknown>)
    }
  }
  return refusal(value) ?? value
}

/** Whether {@link prepare} refused its value. */
export const isRefusal = (u: unknown): u is TypeNotRegistered | EncodeFailed =>
  u instanceof TypeNotRegistered || u instanceof EncodeFailed

const encodeFailed = (type: string, issue: ParseResult.ParseIssue): EncodeFailed =>
  new EncodeFailed({ type, path: issuePath(issue), detail: firstMessage(issue) })

/** Why a value cannot cross nodes as it is (an unregistered type, an instance its schema rejects), or undefined. */
export const refusal = (value: unknown, depth = 0): TypeNotRegistered | EncodeFailed | undefined => {
  if (value === null || typeof value !== "object") {
    return typeof value === "function" || typeof value === "symbol" ? new TypeNotRegistered({ type: typeof value }) : undefined
  }
  if (depth > 64) return new TypeNotRegistered({ type: "a structure nested over 64 levels" })
  const c = (value as object).constructor
  if (c === Object || c === undefined) {
    for (const key in value) {
      const bad = refusal((value as Record<string, unknown>)[key], depth + 1)
      if (bad !== undefined) return bad
    }
    return undefined
  }
  if (c === Array) {
    for (const item of value as Array<unknown>) {
      const bad = refusal(item, depth + 1)
      if (bad !== undefined) return bad
    }
    return undefined
  }
  const entry = byClass.get(c)
  if (entry !== undefined) {
    const wire = entry.toWire(value)
    return wire instanceof Invalid ? encodeFailed(entry.id, wire.issue) : undefined
  }
  if (c === Pid || c === Reference || c === Alias || c === Name || c === Encoded) return undefined
  if (ArrayBuffer.isView(value) || value instanceof Date) return undefined
  return new TypeNotRegistered({ type: typeof c === "function" && c.name ? c.name : "object" })
}

/** A cheap over-estimate of a value's encoded size (strings and bytes dominate). */
export const bytesEstimate = (value: unknown, depth = 0): number => {
  if (typeof value === "string") return value.length * 3 + 5
  if (value === null || typeof value !== "object" || depth > 64) return 9
  if (ArrayBuffer.isView(value)) return value.byteLength + 5
  let total = 5
  if (Array.isArray(value)) {
    for (const item of value) total += bytesEstimate(item, depth + 1)
  } else {
    for (const key in value) total += key.length + 1 + bytesEstimate((value as Record<string, unknown>)[key], depth + 1)
  }
  return total
}

const packr = new Packr({ useRecords: false })
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true })

/** Encodes a frame; throws on a value the schema of its class rejects. */
export const pack = (value: unknown): Buffer => packr.pack(value)

/** Decodes a frame; throws on malformed bytes or an unknown class. */
export const unpack = (bytes: Uint8Array): unknown => unpackr.unpack(bytes)

/** Decodes a sequence of msgpack values. */
export const unpackMultiple = (bytes: Uint8Array): Array<any> => unpackr.unpackMultiple(bytes)

/**
 * A call's outcome in wire form: [true, value] or [false, error, isFailure], checked and
 * encoded now like a message ({@link prepare}). A reply or an error its schema rejects, or
 * of an unregistered class, fails the caller with `EncodeFailed`/`TypeNotRegistered`
 * (never a silent loss, never a `Timeout`); an unregistered error with a defect that
 * prints it.
 */
export const encodeExit = (exit: Exit.Exit<unknown, unknown>): ReadonlyArray<unknown> => {
  if (exit._tag === "Success") {
    const value = prepare(exit.value)
    return isRefusal(value) ? [false, prepare(value), true] : [true, value]
  }
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "Some") {
    const error = prepare(failure.value)
    if (error instanceof EncodeFailed) return [false, prepare(error), true]
    if (!(error instanceof TypeNotRegistered)) return [false, error, true]
  }
  return [false, Cause.pretty(exit.cause), false]
}

/**
 * The inverse of {@link encodeExit}. A reply this node cannot decode (its schema rejects
 * it here, or its class is unknown here) fails the call with `DecodeFailed` or
 * `TypeNotRegistered`. `suspect` false skips the search (no undecodable value in the batch).
 */
export const decodeExit = (wire: ReadonlyArray<unknown>, suspect = true): Exit.Exit<unknown, unknown> => {
  if (suspect) {
    const bad = findUndecodable(wire[1])
    if (bad !== undefined) return Exit.fail(bad.toError())
  }
  return wire[0] === true ? Exit.succeed(wire[1]) : wire[2] === true ? Exit.fail(wire[1]) : Exit.die(new Error(String(wire[1])))
}
