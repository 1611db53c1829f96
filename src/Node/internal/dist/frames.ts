/**
 * The frames of the distribution protocol, as typed tuples: the control messages of
 * Erlang's distribution protocol (send, call, reply, link, unlink, exit, monitor,
 * demonitor, down, spawn) plus Rain's application start and the net tick. A frame is a
 * msgpack array whose first element is its kind; batches of frames travel as one array.
 *
 * Hot path: `SendFrame`, `CallFrame` and `ReplyFrame` carry every message, call and
 * reply; their addresses are plain arrays (no msgpack extension lookup), names of
 * remote processes are built once each.
 *
 * @internal
 */
import type { Priority } from "../../../Process/Behaviour.js"
import type { ExitReason } from "../../../Process/ExitReason.js"
import { Alias, Name, Pid, Reference, unsafeMake } from "../../../Process/Pid.js"
import type { TraceContext } from "../mailbox.js"
import type { SpawnRequest } from "../remote.js"

// Frame kinds
export const TICK = 0
export const SEND = 1
export const CALL = 2
export const REPLY = 3
export const LINK = 4
export const UNLINK = 5
export const EXIT = 6
export const MONITOR = 7
export const DEMONITOR = 8
export const DOWN = 9
export const SPAWN = 10
export const SPAWNED = 11
export const APP_START = 12
export const SEND_IMPORTANT = 13
export const ACK = 14

/** A pid, alias or name in a SEND/CALL frame: `[0 | 1, node, id, creation]` (pid, alias) or `[2, name, node]`. */
export type WireAddress = readonly [0 | 1, string, number, number] | readonly [2, string, string]

/** A call reference in CALL/REPLY frames: `[node, id, creation]`. */
export type WireRef = readonly [string, number, number]

/** An Exit as the codec encodes it (see `encodeExit`). */
export type WireExit = ReadonlyArray<unknown>

/** A message to a process; `lane` is a `laneCode`. */
export type SendFrame = readonly [kind: typeof SEND, from: WireAddress | null, to: WireAddress, payload: unknown, lane: number]
/**
 * A call; the reply comes back as a `ReplyFrame` with the same reference. An `important`
 * call is also acknowledged (`AckFrame`) once it is in the callee's mailbox. A traced call
 * (`tracing: true` on the caller's node) carries its trace context last; an untraced one
 * has no such element, so it pays nothing for tracing on the wire.
 */
export type CallFrame =
  | readonly [kind: typeof CALL, from: WireAddress, to: WireAddress, ref: WireRef, request: unknown]
  | readonly [kind: typeof CALL, from: WireAddress, to: WireAddress, ref: WireRef, request: unknown, important: true]
  | readonly [
    kind: typeof CALL,
    from: WireAddress,
    to: WireAddress,
    ref: WireRef,
    request: unknown,
    important: boolean,
    trace: TraceContext
  ]
/** A message whose receipt is answered with a `ReplyFrame` (void, or why it was not delivered). */
export type SendImportantFrame = readonly [
  kind: typeof SEND_IMPORTANT,
  from: WireAddress,
  to: WireAddress,
  ref: WireRef,
  payload: unknown,
  lane: number
]
/** An important call is in the callee's mailbox. */
export type AckFrame = readonly [kind: typeof ACK, ref: WireRef]
/** The reply (or failure) to a call, by its reference. */
export type ReplyFrame = readonly [kind: typeof REPLY, ref: WireRef, exit: WireExit]
/** `from` (on the sender's node) links to `to` (on the receiver's). */
export type LinkFrame = readonly [kind: typeof LINK, from: Pid, to: Pid]
/** `from` removes its link to `to`. */
export type UnlinkFrame = readonly [kind: typeof UNLINK, from: Pid, to: Pid]
/** An exit signal; `viaLink` when a linked process died (it then needs the link to exist). */
export type ExitFrame = readonly [kind: typeof EXIT, from: Pid, to: Pid, reason: ExitReason, viaLink: boolean]
/** `watcher` monitors `target` (a pid or a name on the receiver's node). */
export type MonitorFrame = readonly [kind: typeof MONITOR, watcher: Pid, target: Pid | Name, ref: Reference]
/** `watcher` removes its monitor `ref`. */
export type DemonitorFrame = readonly [kind: typeof DEMONITOR, watcher: Pid, target: Pid | Name, ref: Reference]
/** A monitored process went down: the `Down` for `watcher`. */
export type DownFrame = readonly [kind: typeof DOWN, watcher: Pid, ref: Reference, target: Pid | Name, reason: ExitReason]
/** What a SPAWN frame may ask besides the behaviour (see `remote.ts`). */
export type { SpawnRequest }
/** Asks the receiver to spawn an allowed behaviour; answered by a `SpawnedFrame` with the same id. */
export type SpawnFrame = readonly [kind: typeof SPAWN, id: number, behaviour: string, args: unknown, options: SpawnRequest | null]
/** The answer to SPAWN or APP_START: the pid (or null for an application), or why not. */
export type SpawnedFrame = readonly [kind: typeof SPAWNED, id: number, ok: boolean, value: unknown]
/** Asks the receiver to start an allowed application; answered by a `SpawnedFrame`. */
export type AppStartFrame = readonly [kind: typeof APP_START, id: number, application: string]
/** Keeps an idle connection alive (net tick). */
export type TickFrame = readonly [kind: typeof TICK]

/** Any frame. */
export type Frame =
  | SendFrame
  | SendImportantFrame
  | AckFrame
  | CallFrame
  | ReplyFrame
  | LinkFrame
  | UnlinkFrame
  | ExitFrame
  | MonitorFrame
  | DemonitorFrame
  | DownFrame
  | SpawnFrame
  | SpawnedFrame
  | AppStartFrame
  | TickFrame

const lanes: ReadonlyArray<Priority> = ["normal", "urgent", "log"]

/** The mailbox lane of a SEND frame's code; an unknown code is the normal lane. */
export const laneOf = (code: number): Priority => lanes[code] ?? "normal"

/** The code of a mailbox lane in a SEND frame. */
export const laneCode = (lane: Priority): number => (lane === "normal" ? 0 : lane === "urgent" ? 1 : 2)

/** An address as it goes into a SEND/CALL frame. */
export const wireAddress = (a: Pid | Alias | Name): WireAddress =>
  a instanceof Name ? [2, a.name, a.node] : [a instanceof Alias ? 1 : 0, a.node, a.id, a.creation]

const names = new Map<string, Name>()

/** Names are few and often used (`{ name, node }` sends): built once each. */
const nameOf = (name: string, node: string): Name => {
  const key = `${name}\u0000${node}`
  let found = names.get(key)
  if (found === undefined) {
    if (names.size > 10_000) names.clear()
    names.set(key, (found = new Name({ name, node }, true)))
  }
  return found
}

/** The address of a SEND/CALL frame. */
export const fromWireAddress = (w: WireAddress): Pid | Alias | Name =>
  w[0] === 2 ? nameOf(w[1], w[2]) : unsafeMake(w[0] === 1 ? Alias : Pid, w[1], w[2], w[3])

/** A reference as it goes into CALL/REPLY frames. */
export const wireRef = (ref: Reference): WireRef => [ref.node, ref.id, ref.creation]

/** The reference of a CALL/REPLY frame. */
export const fromWireRef = (w: WireRef): Reference => unsafeMake(Reference, w[0], w[1], w[2])

const traceId = /^[0-9a-f]{32}$/
const spanId = /^[0-9a-f]{16}$/

/**
 * The trace context of a CALL frame, checked (it comes from the peer): W3C ids in lower
 * hex. Anything else is undefined, and the call runs untraced rather than failing.
 */
export const traceOf = (w: unknown): TraceContext | undefined =>
  Array.isArray(w) && w.length === 3 && typeof w[0] === "string" && traceId.test(w[0]) &&
    typeof w[1] === "string" && spanId.test(w[1]) && typeof w[2] === "boolean"
    ? (w as unknown as TraceContext)
    : undefined
