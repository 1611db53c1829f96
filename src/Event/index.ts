/**
 * Events (Ergo's `RegisterEvent`/`SendEvent`/`LinkEvent`/`MonitorEvent`): a process registers
 * a named event, with an optional buffer of its last N messages, and publishes to it; any
 * process, on its node or another (address the event as `Event.name(name, node)`), links or
 * monitors it, gets the buffer at once, then every publication as an `EventMessage` in
 * `handleMessage`. When the producer ends, unregisters the event, or its node goes away, a
 * monitoring subscriber gets one `EventDown`, a linked one an exit signal with the same reason.
 *
 * Each node runs one relay process (`rain/event`, started on first use) that holds the
 * subscribers on its node: a publication reaches another node once, whatever the number of
 * subscribers there, and that node's relay fans it out.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Process } from "rain"
 *
 * const Prices = Process.make({
 *   name: "Prices",
 *   init: (_: void, ctx) => Event.register(ctx, "prices", { buffer: 10 }),
 *   handleMessage: (price: number, token, ctx) => Effect.as(Event.publish(ctx, token, price), token)
 * })
 *
 * const Watcher = Process.make({
 *   name: "Watcher",
 *   init: (node: string, ctx) => Event.monitor(ctx, Event.name("prices", node)), // the last 10 first
 *   handleMessage: (msg: Event.EventMessage | Event.EventDown, seen) =>
 *     Effect.succeed(msg._tag === "EventMessage" ? [...seen, msg] : seen)
 * })
 * ```
 * @since 0.2.0
 */
import { Effect } from "effect"
import type { Context } from "../Process/Context.js"
import type { CallError } from "../Process/errors.js"
import type { Kind } from "./internal/relay.js"
import { kernelFor, Publish, Register, relayOf, stateOf, Subscribe, Unregister, Unsubscribe } from "./internal/relay.js"
import type { AlreadySubscribed, EventMessage, EventTaken, EventUnknown } from "./types.js"
import { EventName, InvalidEventOption, InvalidToken, Token } from "./types.js"

export {
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category errors
   */
  AlreadySubscribed,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category messages
   */
  EventDown,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category messages
   */
  EventMessage,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category models
   */
  EventName,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category messages
   */
  EventStart,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category messages
   */
  EventStop,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category errors
   */
  EventTaken,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category errors
   */
  EventUnknown,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category errors
   */
  InvalidEventOption,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category errors
   */
  InvalidToken,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category models
   */
  Token
} from "./types.js"

/**
 * Options of `register`.
 *
 * @since 0.2.0
 * @category models
 */
export interface RegisterOptions {
  /** Keep the last `buffer` publications and hand them to each new subscriber (default 0: none). */
  readonly buffer?: number | undefined
  /**
   * Send the producer `EventStart` when the event gets its first subscriber and `EventStop` when it
   * loses its last, on any node (Ergo's `Notify`), so that it produces only while someone listens.
   * Default false.
   */
  readonly notify?: boolean | undefined
}

/**
 * The address of an event on a node (Ergo's `gen.Event{Name, Node}`).
 *
 * @example
 * ```ts
 * import { Event } from "rain"
 *
 * const prices = Event.name("prices", "market@host")
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const name = (name: string, node: string): EventName => new EventName({ name, node })

const addressOf = (ctx: Context<any, any>, event: EventName | string): EventName =>
  typeof event === "string" ? new EventName({ name: event, node: ctx.node }, true) : event

/** A value in an error message: strings quoted. */
const shown = (value: unknown): string => (typeof value === "string" ? JSON.stringify(value) : String(value))

/** An event argument from plain JS that is neither a non-empty name nor an `Event.name(...)`. */
const badEvent = (event: unknown): InvalidEventOption | undefined =>
  (typeof event === "string" && event.length > 0) ||
    (typeof event === "object" && event !== null && typeof (event as { name?: unknown }).name === "string" &&
      typeof (event as { node?: unknown }).node === "string")
    ? undefined
    : new InvalidEventOption({
      option: "event",
      value: shown(event),
      expected: `an event name (a non-empty string) or Event.name(name, node)`
    })

/** A token from plain JS that is not one (`InvalidToken` names what was given). */
const badToken = (token: unknown): InvalidToken | undefined =>
  typeof token === "object" && token !== null && typeof (token as { secret?: unknown }).secret === "string" &&
    typeof (token as { event?: { name?: unknown } }).event?.name === "string"
    ? undefined
    : new InvalidToken({ event: `(not a token: ${shown(token)})` })

/**
 * Registers an event on the caller's node, produced by the calling process: it ends when the
 * process does. Returns the token that publishes to it. Fails with `EventTaken` if the name is
 * in use on this node, `InvalidEventOption` for an empty name or a buffer that is not a
 * non-negative integer.
 *
 * @since 0.2.0
 * @category producing
 */
export const register = (
  ctx: Context<any, any>,
  name: string,
  options: RegisterOptions = {}
): Effect.Effect<Token, EventTaken | InvalidEventOption | InvalidToken | CallError> =>
  Effect.suspend((): Effect.Effect<Token, EventTaken | InvalidEventOption | InvalidToken | CallError> => {
    if (typeof name !== "string" || name.length === 0) {
      return Effect.fail(new InvalidEventOption({ option: "name", value: shown(name), expected: "a non-empty string" }))
    }
    const buffer = options.buffer ?? 0
    if (!(Number.isInteger(buffer) && buffer >= 0)) {
      return Effect.fail(new InvalidEventOption({ option: "buffer", value: buffer, expected: "an integer >= 0" }))
    }
    return Effect.flatMap(relayOf(kernelFor(ctx)), (relay) =>
      ctx.call(relay, new Register(name, buffer, options.notify === true, ctx.self) as never) as Effect.Effect<
        Token,
        EventTaken | InvalidToken | CallError
      >)
  })

/**
 * Publishes a message to an event (Ergo's `SendEvent`): every subscriber gets it as an
 * `EventMessage`, in the order of publication, and a buffered event keeps it for the next
 * subscribers. Subscribers on another node need the message's classes registered there (see
 * `Message.register`). Fails with `InvalidToken` if the token's event is gone.
 *
 * @since 0.2.0
 * @category producing
 */
export const publish = (ctx: Context<any, any>, token: Token, message: unknown): Effect.Effect<void, InvalidToken> =>
  Effect.suspend(() => {
    const bad = badToken(token)
    if (bad !== undefined) return Effect.fail(bad)
    const kernel = kernelFor(ctx)
    const local = stateOf(kernel)?.local.get(token.event.name)
    if (local === undefined || local.secret !== token.secret || token.event.node !== kernel.name) {
      return Effect.fail(new InvalidToken({ event: token.event.name }))
    }
    const relay = kernel.names.get("rain/event")
    if (relay !== undefined) kernel.enqueue(relay, new Publish(token.event.name, token.secret, message), "normal")
    return Effect.void
  })

/**
 * Unregisters an event: monitoring subscribers get `EventDown` with reason `shutdown`
 * (detail `"unregistered"`), linked ones an exit signal with that reason.
 *
 * @since 0.2.0
 * @category producing
 */
export const unregister = (ctx: Context<any, any>, token: Token): Effect.Effect<void, InvalidToken | CallError> =>
  Effect.suspend(() => {
    const bad = badToken(token)
    if (bad !== undefined) return Effect.fail(bad)
    return Effect.flatMap(relayOf(kernelFor(ctx)), (relay) =>
      ctx.call(relay, new Unregister(token) as never) as Effect.Effect<void, InvalidToken | CallError>)
  })

const subscribe = (
  ctx: Context<any, any>,
  event: EventName | string,
  kind: Kind
): Effect.Effect<ReadonlyArray<EventMessage>, EventUnknown | AlreadySubscribed | InvalidEventOption | CallError> =>
  Effect.suspend((): Effect.Effect<
    ReadonlyArray<EventMessage>,
    EventUnknown | AlreadySubscribed | InvalidEventOption | CallError
  > => {
    const bad = badEvent(event)
    return bad === undefined ? subscribeChecked(ctx, event, kind) : Effect.fail(bad)
  })

const subscribeChecked = (ctx: Context<any, any>, event: EventName | string, kind: Kind) =>
  Effect.flatMap(
    relayOf(kernelFor(ctx)),
    (relay) =>
      ctx.call(relay, new Subscribe(addressOf(ctx, event), ctx.self, kind) as never) as Effect.Effect<
        ReadonlyArray<EventMessage>,
        EventUnknown | AlreadySubscribed | CallError
      >
  )

const unsubscribe = (
  ctx: Context<any, any>,
  event: EventName | string,
  kind: Kind
): Effect.Effect<void, InvalidEventOption | CallError> =>
  Effect.suspend((): Effect.Effect<void, InvalidEventOption | CallError> => {
    const bad = badEvent(event)
    return bad === undefined ? unsubscribeChecked(ctx, event, kind) : Effect.fail(bad)
  })

const unsubscribeChecked = (ctx: Context<any, any>, event: EventName | string, kind: Kind) =>
  Effect.flatMap(
    relayOf(kernelFor(ctx)),
    (relay) =>
      ctx.call(relay, new Unsubscribe(addressOf(ctx, event), ctx.self, kind) as never) as Effect.Effect<void, CallError>
  )

/**
 * Monitors an event (a name on this node, or `Event.name(name, node)`), Ergo's `MonitorEvent`:
 * returns the buffered publications, oldest first; then every publication arrives as an
 * `EventMessage`, and one `EventDown` when the event ends or its node goes. Fails with
 * `EventUnknown` if there is no such event, `AlreadySubscribed` if this process already links
 * or monitors it.
 *
 * @since 0.2.0
 * @category subscribing
 */
export const monitor = (
  ctx: Context<any, any>,
  event: EventName | string
): Effect.Effect<ReadonlyArray<EventMessage>, EventUnknown | AlreadySubscribed | InvalidEventOption | CallError> =>
  subscribe(ctx, event, "monitor")

/**
 * Links to an event, Ergo's `LinkEvent`: as `monitor`, but the end of the event is an exit
 * signal from the producer (its exit reason, `shutdown` for `unregister`, `noconnection` when its
 * node goes), which ends the subscriber unless it traps exits or the reason is `normal`.
 *
 * @since 0.2.0
 * @category subscribing
 */
export const link = (
  ctx: Context<any, any>,
  event: EventName | string
): Effect.Effect<ReadonlyArray<EventMessage>, EventUnknown | AlreadySubscribed | InvalidEventOption | CallError> =>
  subscribe(ctx, event, "link")

/**
 * Stops monitoring an event; no `EventMessage` or `EventDown` of it arrives afterwards (except
 * those already in the mailbox). A no-op if the process does not monitor it.
 *
 * @since 0.2.0
 * @category subscribing
 */
export const demonitor = (
  ctx: Context<any, any>,
  event: EventName | string
): Effect.Effect<void, InvalidEventOption | CallError> =>
  unsubscribe(ctx, event, "monitor")

/**
 * Removes a link to an event (see `demonitor`).
 *
 * @since 0.2.0
 * @category subscribing
 */
export const unlink = (
  ctx: Context<any, any>,
  event: EventName | string
): Effect.Effect<void, InvalidEventOption | CallError> =>
  unsubscribe(ctx, event, "link")
