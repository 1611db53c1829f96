/**
 * The engine of a state machine: a `Process.Behaviour` whose handlers turn each mailbox
 * message into an event, run the current state's handler, and apply the transition it
 * returns (gen_statem's loop).
 *
 * Events that must run before newer messages (postponed events after a state change,
 * zero timeouts) wait in an internal queue that one handler invocation drains before
 * it returns to the mailbox: that is how postponed events are retried, in their original
 * order, ahead of everything that arrived after them.
 *
 * Timeouts are `ctx.sendAfter` timers to the process itself, so `TestClock` drives them.
 * Each armed timeout has an id; a timer message whose id is no longer the armed one (it
 * was cancelled, or restarted, while already in the mailbox) is dropped unseen.
 *
 * @internal
 */
import { Duration, Effect } from "effect"
import type { Behaviour } from "../../Process/Behaviour.js"
import type { Context } from "../../Process/Context.js"
import * as Reason from "../../Process/ExitReason.js"
import type { From, Info } from "../../Process/Message.js"
import { EventNotHandled, InvalidTransition, UnknownState } from "../errors.js"
import type { Definition, SetTimeout, Snapshot, States, TimeoutEvent } from "../index.js"

/** @internal */
export const setTimeout = (
  kind: SetTimeout["kind"],
  name: string,
  after: Duration.DurationInput | "infinity",
  content: unknown
): SetTimeout => ({
  _tag: "SetTimeout",
  kind,
  name,
  millis: after === "infinity" ? undefined : Duration.toMillis(Duration.decode(after)),
  content
})

/** A timer message this machine sent itself. */
class Fired {
  constructor(
    readonly kind: SetTimeout["kind"],
    readonly name: string,
    readonly id: number,
    readonly content: unknown
  ) {}
}

type Event =
  | { readonly kind: "message"; readonly value: unknown }
  | { readonly kind: "call"; readonly value: unknown; readonly from: From }
  | { readonly kind: "info"; readonly value: Info }
  | { readonly kind: "fired"; readonly value: Fired }

/** An armed timeout: its id, and the timer unless it is a zero timeout sitting in the internal queue. */
interface Armed {
  readonly id: number
  readonly cancel: Effect.Effect<boolean> | undefined
}

/** What the machine keeps besides its state and data; hidden from `env.state` and `info`. */
interface Internals {
  /** Events postponed in the current state, oldest first. */
  postponed: Array<Event>
  /** Events to handle before the next mailbox message. */
  queue: Array<Event>
  /** Events inserted by the transition being applied (`nextEvent`), in order. */
  inserted: Array<Event>
  stateTimeout: Armed | undefined
  eventTimeout: Armed | undefined
  /** An event timeout set by the last transition, started once the queue is empty. */
  pendingEventTimeout: SetTimeout | undefined
  generic: Map<string, Armed>
  nextId: number
  stopped: boolean
}

/** The process state of a state machine: `state`, `data` and `postponed` are what `info` and `env.state` show. */
interface Machine {
  state: string
  data: unknown
  postponed: number
  readonly internals: Internals
}

const newMachine = (state: string, data: unknown): Machine => {
  const machine = { state, data, postponed: 0 } as Machine
  const internals: Internals = {
    postponed: [],
    queue: [],
    inserted: [],
    stateTimeout: undefined,
    eventTimeout: undefined,
    pendingEventTimeout: undefined,
    generic: new Map(),
    nextId: 0,
    stopped: false
  }
  Object.defineProperty(machine, "internals", { value: internals, enumerable: false })
  return machine
}

type AnyDefinition = Definition<States, any, any, any, any, any>
type Ctx = Context<any, any>

const cancelArmed = (armed: Armed | undefined): Effect.Effect<unknown> =>
  armed === undefined || armed.cancel === undefined ? Effect.void : armed.cancel

/** Arms a timeout: a timer, or for zero an event at the end of the internal queue (gen_statem's zero timeouts). */
const arm = (m: Machine, action: SetTimeout, ctx: Ctx): Effect.Effect<Armed> => {
  const internals = m.internals
  const id = internals.nextId++
  const fired = new Fired(action.kind, action.name, id, action.content)
  if (action.millis === 0) {
    internals.queue.push({ kind: "fired", value: fired })
    return Effect.succeed({ id, cancel: undefined })
  }
  return Effect.map(ctx.sendAfter(ctx.self, fired, action.millis!), (timer) => ({ id, cancel: timer.cancel }))
}

const applyTimeout = (m: Machine, action: SetTimeout, ctx: Ctx): Effect.Effect<void> => {
  const internals = m.internals
  switch (action.kind) {
    case "event":
      // Started only when the machine is about to wait for the mailbox: any event before that cancels it.
      internals.pendingEventTimeout = action.millis === undefined ? undefined : action
      return Effect.void
    case "state": {
      const previous = internals.stateTimeout
      internals.stateTimeout = undefined
      if (action.millis === undefined) return cancelArmed(previous)
      return Effect.zipRight(
        cancelArmed(previous),
        Effect.map(arm(m, action, ctx), (armed) => void (internals.stateTimeout = armed))
      )
    }
    case "generic": {
      const previous = internals.generic.get(action.name)
      internals.generic.delete(action.name)
      if (action.millis === undefined) return cancelArmed(previous)
      return Effect.zipRight(
        cancelArmed(previous),
        Effect.map(arm(m, action, ctx), (armed) => void internals.generic.set(action.name, armed))
      )
    }
  }
}

/**
 * Runs a transition's actions in order; `event` is undefined in `init` and `enter`, where
 * postponing and inserting events are refused. Inserted events wait in `inserted` until
 * the transition is applied.
 */
const runActions = (
  def: AnyDefinition,
  m: Machine,
  actions: ReadonlyArray<unknown>,
  event: Event | undefined,
  ctx: Ctx
): Effect.Effect<void, InvalidTransition> =>
  Effect.forEach(
    actions,
    (action: any): Effect.Effect<void, InvalidTransition> => {
      switch (action?._tag) {
        case "Reply":
          return action.error ? ctx.replyError(action.from, action.value) : ctx.reply(action.from, action.value)
        case "SetTimeout":
          return applyTimeout(m, action, ctx)
        case "Postpone":
          if (event === undefined) {
            return Effect.fail(invalid(def, m, "postpone is not allowed in enter or init (there is no event to postpone)"))
          }
          m.internals.postponed.push(event)
          m.postponed = m.internals.postponed.length
          return Effect.void
        case "NextEvent":
          if (event === undefined) {
            return Effect.fail(invalid(def, m, "nextEvent is not allowed in enter or init"))
          }
          m.internals.inserted.push({ kind: "message", value: action.message })
          return Effect.void
        default:
          return Effect.fail(
            invalid(def, m, `${describeValue(action)} is not an action (use reply, postpone, nextEvent or a timeout action)`)
          )
      }
    },
    { discard: true }
  )

const invalid = (def: AnyDefinition, m: Machine, detail: string) =>
  new InvalidTransition({ machine: def.name, state: m.state, detail }, true)

const describeValue = (u: unknown): string => {
  if (u === null || typeof u !== "object") return String(u)
  return "_tag" in u ? `{ _tag: ${String((u as any)._tag)} }` : "an object without _tag"
}

const checkState = (def: AnyDefinition, m: Machine, state: unknown): Effect.Effect<void, UnknownState> =>
  typeof state === "string" && Object.prototype.hasOwnProperty.call(def.states, state)
    ? Effect.void
    : Effect.fail(new UnknownState({ machine: def.name, state: String(state), known: Object.keys(def.states) }, true))

/** Stops the machine: replies first, then the process stops once the handler returns. */
const applyStop = (m: Machine, t: any, ctx: Ctx): Effect.Effect<void> => {
  if (!t.keepData) m.data = t.data
  m.internals.stopped = true
  m.internals.queue.length = 0
  m.internals.inserted.length = 0
  return Effect.zipRight(
    Effect.forEach(t.replies as ReadonlyArray<any>, (r) => (r.error ? ctx.replyError(r.from, r.value) : ctx.reply(r.from, r.value)), {
      discard: true
    }),
    ctx.stop(t.reason ?? Reason.normal)
  )
}

/** Runs the current state's `enter`, if any, and applies what it returns. */
const enter = (def: AnyDefinition, m: Machine, previous: string, ctx: Ctx): Effect.Effect<void, unknown, any> => {
  const handler = def.states[m.state]!.enter
  if (handler === undefined) return Effect.void
  return Effect.flatMap(handler(m.data, previous, ctx), (t: any): Effect.Effect<void, unknown> => {
    switch (t?._tag) {
      case "KeepState":
        if (!t.keepData) m.data = t.data
        return runActions(def, m, t.actions, undefined, ctx)
      case "Stop":
        return applyStop(m, t, ctx)
      default:
        return Effect.fail(
          invalid(
            def,
            m,
            `enter returned ${describeValue(t)}; enter may only keep the state (keepState, keepStateAndData) or stop`
          )
        )
    }
  })
}

/** Moves the events inserted by the transition's actions to the front of the queue, in order. */
const takeInserted = (m: Machine): Effect.Effect<void> =>
  Effect.sync(() => {
    const internals = m.internals
    if (internals.inserted.length === 0) return
    internals.queue = internals.inserted.concat(internals.queue)
    internals.inserted = []
  })

/** Applies the transition a handler returned for `event`. */
const apply = (def: AnyDefinition, m: Machine, t: any, event: Event, ctx: Ctx): Effect.Effect<void, unknown, any> => {
  switch (t?._tag) {
    case "NextState":
      return Effect.flatMap(checkState(def, m, t.state), () => {
        const previous = m.state
        const changed = t.state !== previous
        m.state = t.state
        m.data = t.data
        if (!changed) return Effect.zipRight(runActions(def, m, t.actions, event, ctx), takeInserted(m))
        const internals = m.internals
        const stateTimeout = internals.stateTimeout
        internals.stateTimeout = undefined
        return cancelArmed(stateTimeout).pipe(
          Effect.zipRight(runActions(def, m, t.actions, event, ctx)),
          Effect.zipRight(
            Effect.suspend(() => {
              // Retry postponed events (the current one too, if it was just postponed) before anything newer.
              if (internals.postponed.length > 0) {
                internals.queue = internals.postponed.concat(internals.queue)
                internals.postponed = []
                m.postponed = 0
              }
              // Inserted events go first, ahead of the retried postponed ones (gen_statem's order).
              return Effect.zipRight(takeInserted(m), enter(def, m, previous, ctx))
            })
          )
        )
      })
    case "KeepState":
      if (!t.keepData) m.data = t.data
      return Effect.zipRight(runActions(def, m, t.actions, event, ctx), takeInserted(m))
    case "RepeatState":
      if (!t.keepData) m.data = t.data
      return runActions(def, m, t.actions, event, ctx).pipe(
        Effect.zipRight(takeInserted(m)),
        Effect.zipRight(enter(def, m, m.state, ctx))
      )
    case "Stop":
      return applyStop(m, t, ctx)
    default:
      return Effect.fail(
        invalid(
          def,
          m,
          `a handler returned ${describeValue(t)}; return nextState, keepState, keepStateAndData, repeatState, repeatStateAndData or stop`
        )
      )
  }
}

const timeoutEvent = (fired: Fired): TimeoutEvent => {
  switch (fired.kind) {
    case "state":
      return { _tag: "StateTimeout", content: fired.content }
    case "event":
      return { _tag: "EventTimeout", content: fired.content }
    case "generic":
      return { _tag: "GenericTimeout", name: fired.name, content: fired.content }
  }
}

/** Whether a timer message is still the armed one (and disarms it): a cancelled timeout already queued is dropped. */
const claim = (m: Machine, fired: Fired): boolean => {
  const internals = m.internals
  switch (fired.kind) {
    case "state":
      if (internals.stateTimeout?.id !== fired.id) return false
      internals.stateTimeout = undefined
      return true
    case "event":
      if (internals.eventTimeout?.id !== fired.id) return false
      internals.eventTimeout = undefined
      return true
    case "generic":
      if (internals.generic.get(fired.name)?.id !== fired.id) return false
      internals.generic.delete(fired.name)
      return true
  }
}

/** Handles queued events until the queue is empty, then starts the pending event timeout. */
const drain = (def: AnyDefinition, m: Machine, ctx: Ctx): Effect.Effect<Machine, unknown, any> => {
  const internals = m.internals
  if (internals.stopped) {
    internals.queue.length = 0
    return Effect.succeed(m)
  }
  const event = internals.queue.shift()
  if (event === undefined) {
    // A zero event timeout lands in the queue: handle it before going back to the mailbox.
    return Effect.flatMap(startEventTimeout(m, ctx), () => (internals.queue.length > 0 ? drain(def, m, ctx) : Effect.succeed(m)))
  }
  if (event.kind === "fired" && !claim(m, event.value)) return drain(def, m, ctx)
  // Any event cancels the event timeout, pending or running.
  internals.pendingEventTimeout = undefined
  const eventTimeout = internals.eventTimeout
  internals.eventTimeout = undefined
  const handlers = def.states[m.state]!
  let handled: Effect.Effect<unknown, unknown, any> | undefined
  switch (event.kind) {
    case "message":
      handled = handlers.handleMessage?.(event.value, m.data, ctx)
      break
    case "call":
      handled = handlers.handleCall?.(event.value, event.from, m.data, ctx)
      break
    case "info":
      handled = handlers.handleInfo?.(event.value, m.data, ctx)
      break
    case "fired":
      handled = handlers.handleTimeout?.(timeoutEvent(event.value), m.data, ctx)
      break
  }
  if (handled === undefined) {
    const kind = event.kind === "fired" ? "timeout" : event.kind
    return Effect.fail(new EventNotHandled({ machine: def.name, state: m.state, event: kind }, true))
  }
  return cancelArmed(eventTimeout).pipe(
    Effect.zipRight(handled),
    Effect.flatMap((t) => apply(def, m, t, event, ctx)),
    Effect.flatMap(() => drain(def, m, ctx))
  )
}

const startEventTimeout = (m: Machine, ctx: Ctx): Effect.Effect<void> => {
  const internals = m.internals
  const pending = internals.pendingEventTimeout
  if (pending === undefined) return Effect.void
  internals.pendingEventTimeout = undefined
  if (pending.millis === 0) {
    // A zero event timeout fires at once: no event is queued that could cancel it.
    internals.eventTimeout = { id: internals.nextId, cancel: undefined }
    internals.queue.push({ kind: "fired", value: new Fired("event", "", internals.nextId++, pending.content) })
    return Effect.void
  }
  return Effect.map(arm(m, pending, ctx), (armed) => void (internals.eventTimeout = armed))
}

const handleEvent = (def: AnyDefinition, m: Machine, event: Event, ctx: Ctx): Effect.Effect<Machine, unknown, any> => {
  m.internals.queue.push(event)
  return Effect.suspend(() => drain(def, m, ctx))
}

/** Builds the process behaviour of a state machine. */
export const make = <S extends States, A, M, Q, E, R>(
  definition: Definition<S, A, M, Q, E, R>
): Behaviour<Snapshot<S>, A, M, Q, E, R> => {
  const def = definition as unknown as AnyDefinition
  const behaviour: Behaviour<Machine, A, M, Q, unknown, R> = {
    name: def.name,
    init: (args, ctx) =>
      Effect.flatMap(def.init(args, ctx), (t: any) => {
        if (t?._tag !== "NextState") {
          return Effect.fail(
            new InvalidTransition({
              machine: def.name,
              state: "(init)",
              detail: `init returned ${describeValue(t)}; return StateMachine.nextState(state, data)`
            }, true)
          )
        }
        const m = newMachine(t.state, t.data)
        return checkState(def, m, t.state).pipe(
          Effect.zipRight(runActions(def, m, t.actions, undefined, ctx)),
          Effect.zipRight(enter(def, m, m.state, ctx)),
          // Zero timeouts set by init run now, before the first message (as gen_statem does).
          Effect.zipRight(Effect.suspend(() => drain(def, m, ctx)))
        )
      }),
    handleMessage: (message, m, ctx) =>
      handleEvent(def, m, message instanceof Fired ? { kind: "fired", value: message } : { kind: "message", value: message }, ctx),
    handleCall: (request, from, m, ctx) =>
      Effect.map(handleEvent(def, m, { kind: "call", value: request, from }, ctx), (state) => ({ _tag: "NoReply", state })),
    handleInfo: (info, m, ctx) => handleEvent(def, m, { kind: "info", value: info }, ctx),
    terminate: def.terminate === undefined
      ? undefined
      : (reason, m, ctx) => def.terminate!(reason, { state: m.state, data: m.data }, ctx),
    describe: (m) => ({ state: m.state, data: m.data, postponed: m.postponed }),
    options: def.options
  }
  return behaviour as unknown as Behaviour<Snapshot<S>, A, M, Q, E, R>
}
