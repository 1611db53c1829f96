import { Effect } from "effect"
import type { Process as P } from "../../src/index.js"
import { StateMachine } from "../../src/index.js"

/** Three states with a counter each: enough to script any transition from a test. */
export type ABC = { readonly a: number; readonly b: number; readonly c: number }
export type Name = StateMachine.StateName<ABC>
export type AnyTransition = StateMachine.Transition<ABC, Name>

/** A message: the probe gets `${state}:${tag}`, then the machine takes `then` (default: keep state and data). */
export interface Step {
  readonly tag: string
  readonly then?: ((data: number) => AnyTransition) | undefined
  /** Runs first, with the machine's context (to monitor, or to keep the machine busy). */
  readonly before?: ((ctx: P.Context<Step, Ask>) => Effect.Effect<unknown>) | undefined
}

/** A request: the probe gets `${state}:call:${tag}`; `then` gets `from` to reply now or keep it. */
export interface Ask {
  readonly tag: string
  readonly then?: ((from: P.From, data: number) => AnyTransition) | undefined
}

export const step = (
  tag: string,
  then?: (data: number) => AnyTransition,
  before?: (ctx: P.Context<Step, Ask>) => Effect.Effect<unknown>
): Step => ({ tag, then, before })

export interface Script {
  readonly probe: P.Pid
  readonly initial?: Name | undefined
  readonly initActions?: ReadonlyArray<StateMachine.EnterAction> | undefined
  /** What `enter` returns in each state (default: keep state and data); the probe gets `${state}:enter:${previous}`. */
  readonly enter?: Partial<Record<Name, (data: number, previous: Name) => StateMachine.EnterTransition<ABC, Name>>> | undefined
  /** What a timeout leads to (default: keep); the probe gets `${state}:${describe(timeout)}`. */
  readonly onTimeout?: ((timeout: StateMachine.TimeoutEvent, state: Name, data: number) => AnyTransition) | undefined
  /** States without handleMessage (to test EventNotHandled). */
  readonly deaf?: ReadonlyArray<Name> | undefined
}

export const describeTimeout = (t: StateMachine.TimeoutEvent): string =>
  t._tag === "GenericTimeout" ? `timeout:generic:${t.name}:${String(t.content)}` : `timeout:${t._tag}:${String(t.content)}`

const handlers = (state: Name) => ({
  enter: (data: number, previous: Name, ctx: P.Context<Step, Ask>) =>
    Effect.gen(function*() {
      const script = scripts.get(String(ctx.self))!
      yield* ctx.send(script.probe, `${state}:enter:${previous}`)
      const custom = script.enter?.[state]
      return custom === undefined ? StateMachine.keepStateAndData() : custom(data, previous)
    }),
  handleMessage: (message: Step, data: number, ctx: P.Context<Step, Ask>) =>
    Effect.gen(function*() {
      const script = scripts.get(String(ctx.self))!
      if (script.deaf?.includes(state)) return yield* Effect.die("unreachable: deaf states have no handler")
      yield* ctx.send(script.probe, `${state}:${message.tag}`)
      if (message.before !== undefined) yield* message.before(ctx)
      return message.then === undefined ? StateMachine.keepStateAndData() : message.then(data)
    }),
  handleCall: (request: Ask, from: P.From, data: number, ctx: P.Context<Step, Ask>) =>
    Effect.gen(function*() {
      const script = scripts.get(String(ctx.self))!
      yield* ctx.send(script.probe, `${state}:call:${request.tag}`)
      return request.then === undefined ? StateMachine.keepStateAndData([StateMachine.reply(from, state)]) : request.then(from, data)
    }),
  handleInfo: (info: P.Info, _data: number, ctx: P.Context<Step, Ask>) =>
    Effect.as(ctx.send(scripts.get(String(ctx.self))!.probe, `${state}:info:${info._tag}`), StateMachine.keepStateAndData()),
  handleTimeout: (timeout: StateMachine.TimeoutEvent, data: number, ctx: P.Context<Step, Ask>) =>
    Effect.gen(function*() {
      const script = scripts.get(String(ctx.self))!
      yield* ctx.send(script.probe, `${state}:${describeTimeout(timeout)}`)
      return script.onTimeout === undefined ? StateMachine.keepStateAndData() : script.onTimeout(timeout, state, data)
    })
})

// The script of each running machine, by pid.
const scripts = new Map<string, Script>()

const withoutMessages = (state: Name) => {
  const { handleMessage: _, ...rest } = handlers(state)
  return rest
}

/** A state machine whose every move is scripted by the test (through messages, calls and the init script). */
export const Scripted = StateMachine.make<ABC, Step, Ask>()({
  name: "Scripted",
  init: (script: Script, ctx) =>
    Effect.sync(() => {
      scripts.set(String(ctx.self), script)
      return StateMachine.nextState(script.initial ?? "a", 0, script.initActions ?? [])
    }),
  states: {
    a: handlers("a"),
    b: handlers("b"),
    c: handlers("c")
  },
  terminate: (reason, state, ctx) =>
    Effect.orDie(ctx.send(scripts.get(String(ctx.self))!.probe, `terminate:${state.state}:${state.data}:${reason._tag}`))
})

/** The same machine where state `b` has no handleMessage. */
export const DeafInB = StateMachine.make<ABC, Step, Ask>()({
  name: "DeafInB",
  init: (script: Script, ctx) =>
    Effect.sync(() => {
      scripts.set(String(ctx.self), script)
      return StateMachine.nextState(script.initial ?? "a", 0)
    }),
  states: { a: handlers("a"), b: withoutMessages("b"), c: handlers("c") }
})

export const go = (state: Name, actions: ReadonlyArray<StateMachine.Action> = []) => (data: number): AnyTransition =>
  StateMachine.nextState(state, data + 1, actions)
