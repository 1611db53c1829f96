/**
 * State machines with Erlang's `gen_statem` semantics (Ergo's statemachine is the second
 * reference). A state machine is a process whose state is one of a set of named states,
 * each with its own data type and its own handlers. Handlers return a transition
 * (`nextState`, `keepState`, `repeatState`, `stop`, ...) with actions: replies, postponing
 * the event until the state changes, and timeouts (state, event and named generic ones).
 *
 * It is an ordinary `Process.Behaviour` underneath: spawn it, link to it, monitor it,
 * supervise it and test it as any process; `node.info(pid)` reports its current state.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StateMachine } from "rain"
 *
 * type Switch = { off: { flips: number }; on: { flips: number } }
 *
 * const Light = StateMachine.make<Switch, "flip">()({
 *   name: "Light",
 *   init: () => Effect.succeed(StateMachine.nextState("off", { flips: 0 })),
 *   states: {
 *     off: { handleMessage: (_flip, data) => Effect.succeed(StateMachine.nextState("on", { flips: data.flips + 1 })) },
 *     on: { handleMessage: (_flip, data) => Effect.succeed(StateMachine.nextState("off", { flips: data.flips + 1 })) }
 *   }
 * })
 * ```
 * @since 0.2.0
 */
import type { Duration, Effect } from "effect"
import type { Behaviour, ProcessOptions } from "../Process/Behaviour.js"
import type { Context } from "../Process/Context.js"
import type { ExitReason } from "../Process/ExitReason.js"
import type { From, Info } from "../Process/Message.js"
import * as internal from "./internal/machine.js"

export {
  /**
   * An event reached a state that has no handler for it: the machine crashes, as gen_statem does.
   *
   * @since 0.2.0
   * @category errors
   */
  EventNotHandled,
  /**
   * A handler returned a transition its kind may not make (an `enter` that changes state, ...).
   *
   * @since 0.2.0
   * @category errors
   */
  InvalidTransition,
  /**
   * A transition named a state the machine does not have.
   *
   * @since 0.2.0
   * @category errors
   */
  UnknownState
} from "./errors.js"

// -----------------------------------------------------------------------------
// States

/**
 * The states of a machine: each state's name mapped to the type of its data.
 *
 * @example
 * ```ts
 * import type { StateMachine } from "rain"
 *
 * type Door = { locked: { code: string; entered: string }; open: { code: string } }
 * type DoorState = StateMachine.State<Door>   // { state: "locked", data: ... } | { state: "open", data: ... }
 * ```
 * @since 0.2.0
 * @category models
 */
export type States = { readonly [name: string]: unknown }

/**
 * The name of a state of `S`.
 *
 * @since 0.2.0
 * @category models
 */
export type StateName<S extends States> = keyof S & string

/**
 * A state of `S` with its data: the tagged union of every state.
 *
 * @since 0.2.0
 * @category models
 */
export type State<S extends States> = {
  readonly [K in StateName<S>]: { readonly state: K; readonly data: S[K] }
}[StateName<S>]

/**
 * What `node.info(pid).detail` and `env.state(pid)` show of a state machine: the current
 * state, its data and how many events wait postponed.
 *
 * @since 0.2.0
 * @category models
 */
export type Snapshot<S extends States> = State<S> & { readonly postponed: number }

// -----------------------------------------------------------------------------
// Timeout events

/**
 * A timeout that fired, delivered to the current state's `handleTimeout`:
 * `StateTimeout` (set with `stateTimeout`), `EventTimeout` (set with `eventTimeout`) or
 * `GenericTimeout` (set with `genericTimeout`, with its name).
 *
 * @since 0.2.0
 * @category models
 */
export type TimeoutEvent =
  | { readonly _tag: "StateTimeout"; readonly content: unknown }
  | { readonly _tag: "EventTimeout"; readonly content: unknown }
  | { readonly _tag: "GenericTimeout"; readonly name: string; readonly content: unknown }

// -----------------------------------------------------------------------------
// Actions

/**
 * Answer a call (gen_statem's `{reply, From, Reply}`).
 *
 * @since 0.2.0
 * @category actions
 */
export interface Reply {
  readonly _tag: "Reply"
  readonly from: From
  readonly value: unknown
  readonly error: boolean
}

/**
 * Keep the current event until the state changes, then handle it again (before newer messages).
 *
 * @since 0.2.0
 * @category actions
 */
export interface Postpone {
  readonly _tag: "Postpone"
}

/**
 * Insert a message to handle next, before postponed events being retried and before the
 * mailbox (gen_statem's `{next_event, internal, Message}`; several are handled in order).
 *
 * @since 0.2.0
 * @category actions
 */
export interface NextEvent {
  readonly _tag: "NextEvent"
  readonly message: unknown
}

/**
 * Start (or, with `"infinity"` or `cancel`, stop) a state timeout, an event timeout or a
 * named generic timeout.
 *
 * @since 0.2.0
 * @category actions
 */
export interface SetTimeout {
  readonly _tag: "SetTimeout"
  readonly kind: "state" | "event" | "generic"
  readonly name: string
  /** Milliseconds; `undefined` cancels. */
  readonly millis: number | undefined
  readonly content: unknown
}

/**
 * Anything a transition may do besides changing state and data.
 *
 * @since 0.2.0
 * @category actions
 */
export type Action = Reply | Postpone | SetTimeout | NextEvent

/**
 * The actions a state-enter call (and `init`) may take: no `postpone`, since there is no
 * event to postpone, and no `nextEvent` (as in gen_statem).
 *
 * @since 0.2.0
 * @category actions
 */
export type EnterAction = Reply | SetTimeout

/**
 * Reply `value` to the caller `from` (now, or later from another transition: a deferred
 * reply is a `from` kept in the data).
 *
 * @since 0.2.0
 * @category actions
 */
export const reply = (from: From, value: unknown): Reply => ({ _tag: "Reply", from, value, error: false })

/**
 * Fail the caller's `call` with `error` (the request's failure type).
 *
 * @since 0.2.0
 * @category actions
 */
export const replyError = (from: From, error: unknown): Reply => ({ _tag: "Reply", from, value: error, error: true })

/**
 * Postpone the current event: it is handled again, in its original order and before any
 * newer message, after the next state change (gen_statem's `postpone`).
 *
 * @since 0.2.0
 * @category actions
 */
export const postpone = (): Postpone => ({ _tag: "Postpone" })

/**
 * Handle `message` next, as if it had just arrived but ahead of everything else: a
 * handler splits its work into steps, or turns a call into the message it stands for.
 * It goes to the `handleMessage` of the state the transition leads to; type it as the
 * machine's message type `M` (the action itself cannot check that).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StateMachine } from "rain"
 *
 * type Button = { readonly digit: string } | "zero"
 *
 * const Keypad = StateMachine.make<{ ready: { pressed: string } }, Button>()({
 *   name: "Keypad",
 *   init: () => Effect.succeed(StateMachine.nextState("ready", { pressed: "" })),
 *   states: {
 *     ready: {
 *       handleMessage: (button, data) =>
 *         Effect.succeed(
 *           button === "zero"
 *             // handled next, before any message still in the mailbox
 *             ? StateMachine.keepStateAndData([StateMachine.nextEvent<Button>({ digit: "0" })])
 *             : StateMachine.keepState({ pressed: data.pressed + button.digit })
 *         )
 *     }
 *   }
 * })
 * ```
 * @since 0.2.0
 * @category actions
 */
export const nextEvent = <M>(message: M): NextEvent => ({ _tag: "NextEvent", message })

/**
 * A state timeout: `handleTimeout` gets `StateTimeout` after `after` unless the state
 * changes first. Setting it again restarts it; `"infinity"` cancels it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StateMachine } from "rain"
 *
 * type Door = { locked: { code: string }; open: { code: string } }
 *
 * const Lock = StateMachine.make<Door, "unlock">()({
 *   name: "Lock",
 *   init: (code: string) => Effect.succeed(StateMachine.nextState("locked", { code })),
 *   states: {
 *     locked: {
 *       // locks again after 10 seconds open: handleTimeout gets StateTimeout with content "lock"
 *       handleMessage: (_unlock, data) =>
 *         Effect.succeed(StateMachine.nextState("open", data, [StateMachine.stateTimeout("10 seconds", "lock")]))
 *     },
 *     open: { handleTimeout: (_timeout, data) => Effect.succeed(StateMachine.nextState("locked", data)) }
 *   }
 * })
 * ```
 * @since 0.2.0
 * @category actions
 */
export const stateTimeout = (after: Duration.DurationInput | "infinity", content?: unknown): SetTimeout =>
  internal.setTimeout("state", "", after, content)

/**
 * Cancels the state timeout, if any (gen_statem's `{state_timeout, cancel}`).
 *
 * @since 0.2.0
 * @category actions
 */
export const cancelStateTimeout = (): SetTimeout => internal.setTimeout("state", "", "infinity", undefined)

/**
 * An event timeout: `handleTimeout` gets `EventTimeout` after `after` unless any event
 * (a message, a call, an info, another timeout) arrives first. Zero fires right after the
 * events already queued inside the machine (postponed ones being retried).
 *
 * @since 0.2.0
 * @category actions
 */
export const eventTimeout = (after: Duration.DurationInput | "infinity", content?: unknown): SetTimeout =>
  internal.setTimeout("event", "", after, content)

/**
 * A named generic timeout: `handleTimeout` gets `GenericTimeout` with `name` after
 * `after`. It survives state changes and events; setting the same name restarts it,
 * `cancelTimeout(name)` stops it.
 *
 * @since 0.2.0
 * @category actions
 */
export const genericTimeout = (name: string, after: Duration.DurationInput | "infinity", content?: unknown): SetTimeout =>
  internal.setTimeout("generic", name, after, content)

/**
 * Cancels the generic timeout `name`, if it runs.
 *
 * @since 0.2.0
 * @category actions
 */
export const cancelTimeout = (name: string): SetTimeout => internal.setTimeout("generic", name, "infinity", undefined)

// -----------------------------------------------------------------------------
// Transitions

/**
 * Go to `state` with `data` (gen_statem's `next_state`). A different state runs its
 * `enter`, cancels the state timeout and retries postponed events.
 *
 * @since 0.2.0
 * @category transitions
 */
export interface NextState<K extends string, D, A extends Action = Action> {
  readonly _tag: "NextState"
  readonly state: K
  readonly data: D
  readonly actions: ReadonlyArray<A>
}

/**
 * Stay in the current state with new data (`keep_state`), or with the same data
 * (`keepStateAndData`, where `data` is absent).
 *
 * @since 0.2.0
 * @category transitions
 */
export interface KeepState<D, A extends Action = Action> {
  readonly _tag: "KeepState"
  readonly data: D
  readonly keepData: boolean
  readonly actions: ReadonlyArray<A>
}

/**
 * Stay in the current state but run its `enter` again (`repeat_state`).
 *
 * @since 0.2.0
 * @category transitions
 */
export interface RepeatState<D, A extends Action = Action> {
  readonly _tag: "RepeatState"
  readonly data: D
  readonly keepData: boolean
  readonly actions: ReadonlyArray<A>
}

/**
 * Stop the process with `reason` after sending `replies` (`stop` / `stop_and_reply`).
 *
 * @since 0.2.0
 * @category transitions
 */
export interface Stop<D> {
  readonly _tag: "Stop"
  readonly reason: ExitReason | undefined
  readonly data: D
  readonly keepData: boolean
  readonly replies: ReadonlyArray<Reply>
}

/**
 * What a handler in state `K` of `S` returns: any state of `S` with that state's data,
 * or staying in `K` with `K`'s data, or stopping.
 *
 * @since 0.2.0
 * @category transitions
 */
export type Transition<S extends States, K extends StateName<S>> =
  | { readonly [J in StateName<S>]: NextState<J, S[J]> }[StateName<S>]
  | KeepState<S[K]>
  | RepeatState<S[K]>
  | Stop<S[K]>

/**
 * What a state-enter call in state `K` returns: it cannot change state or postpone
 * (as in gen_statem), but may keep new data, set timeouts, reply or stop.
 *
 * @since 0.2.0
 * @category transitions
 */
export type EnterTransition<S extends States, K extends StateName<S>> = KeepState<S[K], EnterAction> | Stop<S[K]>

/**
 * What `init` returns: the first state and its data, with timeouts to start.
 *
 * @since 0.2.0
 * @category transitions
 */
export type Initial<S extends States> = { readonly [J in StateName<S>]: NextState<J, S[J], EnterAction> }[StateName<S>]

/**
 * Go to `state` with `data`, then run `actions`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StateMachine } from "rain"
 *
 * type Door = { locked: { code: string }; open: { code: string } }
 *
 * const Lock = StateMachine.make<Door, "unlock">()({
 *   name: "Lock",
 *   init: (code: string) => Effect.succeed(StateMachine.nextState("locked", { code })),
 *   states: {
 *     locked: {
 *       handleMessage: (_unlock, data) =>
 *         Effect.succeed(
 *           StateMachine.nextState("open", { code: data.code }, [StateMachine.stateTimeout("10 seconds")])
 *         )
 *     },
 *     open: { handleTimeout: (_timeout, data) => Effect.succeed(StateMachine.nextState("locked", data)) }
 *   }
 * })
 * ```
 * @since 0.2.0
 * @category transitions
 */
export const nextState = <K extends string, D, A extends Action = never>(
  state: K,
  data: D,
  actions: ReadonlyArray<A> = []
): NextState<K, D, A> => ({ _tag: "NextState", state, data, actions })

/**
 * Stay in the current state with new `data`.
 *
 * @since 0.2.0
 * @category transitions
 */
export const keepState = <D, A extends Action = never>(data: D, actions: ReadonlyArray<A> = []): KeepState<D, A> => ({
  _tag: "KeepState",
  data,
  keepData: false,
  actions
})

/**
 * Stay in the current state with the same data; `actions` still run.
 *
 * @since 0.2.0
 * @category transitions
 */
export const keepStateAndData = <A extends Action = never>(actions: ReadonlyArray<A> = []): KeepState<never, A> => ({
  _tag: "KeepState",
  data: undefined as never,
  keepData: true,
  actions
})

/**
 * Stay in the current state with new `data` and run its `enter` again.
 *
 * @since 0.2.0
 * @category transitions
 */
export const repeatState = <D, A extends Action = never>(data: D, actions: ReadonlyArray<A> = []): RepeatState<D, A> => ({
  _tag: "RepeatState",
  data,
  keepData: false,
  actions
})

/**
 * Stay in the current state with the same data and run its `enter` again.
 *
 * @since 0.2.0
 * @category transitions
 */
export const repeatStateAndData = <A extends Action = never>(actions: ReadonlyArray<A> = []): RepeatState<never, A> => ({
  _tag: "RepeatState",
  data: undefined as never,
  keepData: true,
  actions
})

/**
 * Stop the process with `reason` (default `normal`), optionally with final `data` (what
 * `terminate` sees) and `replies` sent first (gen_statem's `stop_and_reply`).
 *
 * @since 0.2.0
 * @category transitions
 */
export const stop = <D = never>(
  reason?: ExitReason,
  options?: { readonly data?: D; readonly replies?: ReadonlyArray<Reply> }
): Stop<D> => ({
  _tag: "Stop",
  reason,
  data: options?.data as D,
  keepData: options === undefined || !("data" in options),
  replies: options?.replies ?? []
})

// -----------------------------------------------------------------------------
// Definition

/**
 * The handlers of one state `K`. Each is optional; an event for which the current state
 * has no handler crashes the machine with `EventNotHandled` (gen_statem crashes the same
 * way), so postpone the events a state must not handle yet.
 *
 * @since 0.2.0
 * @category models
 */
export interface StateHandlers<S extends States, K extends StateName<S>, M, Q, R> {
  /**
   * Runs when the machine enters `K` (after `init`, on a change of state and on
   * `repeatState`) with the state it came from (the same one after `init` and `repeatState`).
   */
  readonly enter?:
    | ((data: S[K], previous: StateName<S>, ctx: Context<M, Q>) => Effect.Effect<EnterTransition<S, K>, unknown, R>)
    | undefined
  /** A plain message (gen_statem's `cast`/`info` with a user term). */
  readonly handleMessage?:
    | ((message: M, data: S[K], ctx: Context<M, Q>) => Effect.Effect<Transition<S, K>, unknown, R>)
    | undefined
  /** A call: answer it with a `reply` action now or later; it waits until then (or its timeout). */
  readonly handleCall?:
    | ((request: Q, from: From, data: S[K], ctx: Context<M, Q>) => Effect.Effect<Transition<S, K>, unknown, R>)
    | undefined
  /** A system message: `Down`, `Exit` (when trapping exits), `NodeUp`/`NodeDown`. */
  readonly handleInfo?:
    | ((info: Info, data: S[K], ctx: Context<M, Q>) => Effect.Effect<Transition<S, K>, unknown, R>)
    | undefined
  /** A state, event or generic timeout set by this machine. */
  readonly handleTimeout?:
    | ((timeout: TimeoutEvent, data: S[K], ctx: Context<M, Q>) => Effect.Effect<Transition<S, K>, unknown, R>)
    | undefined
}

/**
 * A state machine: its name, `init` (which picks the first state), the handlers of every
 * state of `S`, and `terminate`. `M` and `Q` are the messages and requests it accepts,
 * as for a process.
 *
 * @since 0.2.0
 * @category models
 */
export interface Definition<S extends States, A, M, Q, E, R> {
  readonly name: string
  readonly init: (args: A, ctx: Context<M, Q>) => Effect.Effect<Initial<S>, E, R>
  readonly states: { readonly [K in StateName<S>]: StateHandlers<S, K, M, Q, R> }
  /** Runs when the process ends (as a process's `terminate`), with the state it was in. */
  readonly terminate?:
    | ((reason: ExitReason, state: State<S>, ctx: Context<M, Q>) => Effect.Effect<void, never, R>)
    | undefined
  readonly options?: ProcessOptions | undefined
}

/**
 * Defines a state machine as a process behaviour. Name the states (with their data), the
 * messages `M` and the requests `Q` first; the handlers are then checked against them:
 * a handler in state `K` can only go to a state of `S` with that state's data.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StateMachine } from "rain"
 *
 * type Door = { locked: { code: string; entered: string }; open: { code: string } }
 * type Button = { readonly digit: string }
 *
 * const press = (b: Button, d: Door["locked"]) => {
 *   const entered = (d.entered + b.digit).slice(-d.code.length)
 *   return entered === d.code
 *     ? StateMachine.nextState("open", { code: d.code })
 *     : StateMachine.nextState("locked", { code: d.code, entered })
 * }
 *
 * const Lock = StateMachine.make<Door, Button>()({
 *   name: "Lock",
 *   init: (code: string) => Effect.succeed(StateMachine.nextState("locked", { code, entered: "" })),
 *   states: {
 *     locked: { handleMessage: (b, d) => Effect.succeed(press(b, d)) },
 *     open: {
 *       enter: () => Effect.succeed(StateMachine.keepStateAndData([StateMachine.stateTimeout("10 seconds")])),
 *       handleTimeout: (_t, d) => Effect.succeed(StateMachine.nextState("locked", { code: d.code, entered: "" }))
 *     }
 *   }
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const make = <S extends States, M = never, Q = never>() =>
<A = void, E = never, R = never>(
  definition: Definition<S, A, M, Q, E, R>
): Behaviour<Snapshot<S>, A, M, Q, E, R> => internal.make(definition)
