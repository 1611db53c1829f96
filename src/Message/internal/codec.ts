/**
 * Value encoding for the wire: msgpack (msgpackr) with extensions for pids, references,
 * aliases, names and every registered Schema class. A message may be a primitive, a
 * byte array, a plain object or array of such values, an identifier, or an instance of
 * a registered class; anything else is refused at the sender with `TypeNotRegistered`.
 *
 * @internal
 */
import { Cause, Exit, Schema, SchemaAST } from "effect"
import { addExtension, Packr, Unpackr } from "msgpackr"
import * as Errors from "../../Process/errors.js"
import * as Reason from "../../Process/ExitReason.js"
import * as Msg from "../../Process/Message.js"
import { Alias, Name, Pid, Reference, unsafeMake } from "../../Process/Pid.js"
import { TypeNotRegistered } from "../errors.js"

/** Any Schema class (TaggedClass, TaggedError, Class, TaggedRequest). */
export type WireClass = Schema.Schema<any, any, never> & { readonly identifier: string; new(...args: any): any }

interface Entry {
  readonly encode: (u: unknown) => unknown
  readonly decode: (u: unknown) => unknown
}

const byClass = new Map<unknown, string>()
const byId = new Map<string, Entry>()

const T_PID = 0x51
const T_REF = 0x52
const T_ALIAS = 0x53
const T_NAME = 0x54
const T_CLASS = 0x55

/**
 * Registers Schema classes so that their instances can cross nodes. Both nodes must
 * register the same classes (matched by identifier).
 */
export const register = (...classes: ReadonlyArray<WireClass>): void => {
  for (const klass of classes) {
    if (byClass.has(klass)) continue
    const id = klass.identifier
    byClass.set(klass, id)
    const fast = isIdentity(klass)
    const proto = klass.prototype
    byId.set(id, {
      encode: fast ? (u) => ({ ...(u as object) }) : Schema.encodeSync(klass),
      decode: fast ? (u) => Object.assign(Object.create(proto), u) : Schema.decodeUnknownSync(klass)
    })
    addExtension({
      Class: klass,
      type: T_CLASS,
      write: (value: unknown) => [id, byId.get(id)!.encode(value)],
      read: readClass
    })
  }
}

/**
 * Whether a class's encoded form is its own fields unchanged (every field a Schema with
 * no transformation, like String, Number, Uint8ArrayFromSelf): then the hot path skips
 * Schema encode/decode (a few µs per message) and writes the instance's fields as they are.
 */
const isIdentity = (klass: WireClass): boolean => {
  const fields = (klass as unknown as { readonly fields?: Record<string, unknown> }).fields
  if (fields === undefined) return false
  for (const key of Object.keys(fields)) {
    if (key === "_tag") continue
    const field = fields[key]
    if (!Schema.isSchema(field) || SchemaAST.encodedAST(field.ast) !== field.ast) return false
  }
  return true
}

/**
 * What a value of an unknown class, or one its schema rejects, decodes to: the rest of
 * the batch still decodes, and the receiver drops the message that holds it.
 */
export class Undecodable {
  constructor(
    readonly type: string,
    readonly reason: string
  ) {}
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

const readClass = (data: [string, unknown]): unknown => {
  const entry = byId.get(data[0])
  if (entry === undefined) {
    undecodables++
    return new Undecodable(data[0], "the class is not registered on this node")
  }
  try {
    return entry.decode(data[1])
  } catch (error) {
    undecodables++
    return new Undecodable(data[0], error instanceof Error ? error.message : String(error))
  }
}

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
  Msg.Timeout,
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
  TypeNotRegistered
)

/** The name of the first value in `value` that cannot cross nodes, or undefined. */
export const unregisteredType = (value: unknown, depth = 0): string | undefined => {
  if (value === null || typeof value !== "object") {
    return typeof value === "function" || typeof value === "symbol" ? typeof value : undefined
  }
  if (depth > 64) return "a structure nested over 64 levels"
  const c = (value as object).constructor
  if (c === Object || c === undefined) {
    for (const key in value) {
      const bad = unregisteredType((value as Record<string, unknown>)[key], depth + 1)
      if (bad !== undefined) return bad
    }
    return undefined
  }
  if (c === Array) {
    for (const item of value as Array<unknown>) {
      const bad = unregisteredType(item, depth + 1)
      if (bad !== undefined) return bad
    }
    return undefined
  }
  if (byClass.has(c) || c === Pid || c === Reference || c === Alias || c === Name) return undefined
  if (ArrayBuffer.isView(value) || value instanceof Date) return undefined
  return typeof c === "function" && c.name ? c.name : "object"
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

/** A call's outcome in wire form: [true, value] or [false, error, isFailure]. */
export const encodeExit = (exit: Exit.Exit<unknown, unknown>): ReadonlyArray<unknown> => {
  if (exit._tag === "Success") {
    return unregisteredType(exit.value) === undefined ? [true, exit.value] : [false, String(exit.value), false]
  }
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "Some" && unregisteredType(failure.value) === undefined) return [false, failure.value, true]
  return [false, Cause.pretty(exit.cause), false]
}

/** The inverse of {@link encodeExit}. */
export const decodeExit = (wire: ReadonlyArray<unknown>): Exit.Exit<unknown, unknown> =>
  wire[0] === true ? Exit.succeed(wire[1]) : wire[2] === true ? Exit.fail(wire[1]) : Exit.die(new Error(String(wire[1])))
