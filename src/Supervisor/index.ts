/**
 * Supervisors, with OTP's semantics: a supervisor is a process that traps exits, starts
 * its children in order, restarts them by its strategy when they exit, gives up (ending
 * with `shutdown`) past its restart intensity, and stops them in reverse order.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node, Process, Supervisor } from "rain"
 *
 * const Worker = Process.make({ name: "Worker", init: (config: string) => Effect.succeed(config) })
 *
 * const tree = Supervisor.oneForOne({ intensity: 3, period: "5 seconds" }).pipe(
 *   Supervisor.child({ id: "worker1", behaviour: Worker, args: "worker1_config" }),
 *   Supervisor.child({ id: "worker2", behaviour: Worker, args: "worker2_config" })
 * )
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("sup@localhost")
 *   const sup = yield* Supervisor.start(node, tree)
 *   const children = yield* Supervisor.whichChildren(node, sup)
 * }))
 * ```
 * @since 0.1.0
 */
import type { Scope } from "effect"
import { Context, Duration, Effect, Layer } from "effect"
import { pipeArguments } from "effect/Pipeable"
import { Node } from "../Node/Service.js"
import type { NodeService } from "../Node/index.js"
import type { Behaviour, CallTimeout } from "../Process/Behaviour.js"
import * as Process from "../Process/Behaviour.js"
import type { CallError, SpawnError } from "../Process/errors.js"
import * as Reason from "../Process/ExitReason.js"
import type { Info } from "../Process/Message.js"
import type { Pid, Ref } from "../Process/Pid.js"
import { makeState, specOf, type State } from "./internal/state.js"
import * as Run from "./internal/run.js"
import type { ChildSpec, Options, Spec, Strategy } from "./Spec.js"
import {
  ChildAlreadyPresent,
  ChildNotFound,
  ChildRunning,
  ChildStartFailed,
  CountChildren,
  DelayedRestart,
  DeleteChild,
  RestartChild,
  makeStartChild,
  TerminateChild,
  WhichChildren
} from "./Protocol.js"
import type { ChildCounts, ChildInfo, Request } from "./Protocol.js"

/**
 * Re-exported from `./Spec`.
 *
 * @since 0.1.0
 * @category re-exports
 */
export * from "./Spec.js"
export {
  /**
   * Re-exported from `./Protocol`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  ChildAlreadyPresent,
  /**
   * Re-exported from `./Protocol`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  ChildCounts,
  /**
   * Re-exported from `./Protocol`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  ChildInfo,
  /**
   * Re-exported from `./Protocol`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  ChildNotFound,
  /**
   * Re-exported from `./Protocol`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  ChildRunning,
  /**
   * Re-exported from `./Protocol`.
   *
   * @since 0.1.0
   * @category re-exports
   */
  ChildStartFailed
} from "./Protocol.js"
export type {
  /**
   * Re-exported from `./Protocol`.
   *
   * @since 0.1.0
   * @category models
   */
  Request
} from "./Protocol.js"

const SpecProto = {
  pipe(this: Spec) {
    // eslint-disable-next-line prefer-rest-params
    return pipeArguments(this, arguments)
  }
}

const withProto = (fields: Omit<Spec, "pipe">): Spec => Object.assign(Object.create(SpecProto), fields)

const make = (strategy: Strategy, options: Options = {}, template?: ChildSpec): Spec => withProto({
  strategy,
  intensity: options.intensity ?? 1,
  period: Duration.decode(options.period ?? "5 seconds"),
  backoff: options.backoff,
  autoShutdown: options.autoShutdown ?? "never",
  children: [],
  template
})

/**
 * Restart only the child that exited.
 *
 * @since 0.1.0
 */
export const oneForOne = (options?: Options): Spec => make("one_for_one", options)

/**
 * Restart every child when one exits (the others are stopped first, in reverse order).
 *
 * @since 0.1.0
 */
export const allForOne = (options?: Options): Spec => make("one_for_all", options)

/**
 * Restart the child that exited and every child started after it.
 *
 * @since 0.1.0
 */
export const restForOne = (options?: Options): Spec => make("rest_for_one", options)

/**
 * Many children of one spec, started at run time with `startChild(caller, sup, args)`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node, Process, Supervisor } from "rain"
 *
 * // each child gets its own peer address as the start argument
 * const Connection = Process.make({ name: "Connection", init: (peer: string) => Effect.succeed(peer) })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("pool@localhost")
 *   const pool = Supervisor.simpleOneForOne({ id: "conn", behaviour: Connection, args: "", restart: "transient" })
 *   const sup = yield* Supervisor.start(node, pool)
 *   const conn = yield* Supervisor.startChild(node, sup, "10.0.0.7:4000")
 * }))
 * ```
 * @since 0.1.0
 */
export const simpleOneForOne = <A>(template: ChildSpec<A>, options?: Options): Spec =>
  make("simple_one_for_one", options, template)

/**
 * Adds a child (pipeable). Children start in the order they are added.
 *
 * @since 0.1.0
 */
export const child = <A>(spec: ChildSpec<A>) => (self: Spec): Spec =>
  withProto({ ...self, children: [...self.children, spec] })

// ---------------------------------------------------------------------------
// The behaviour

/**
 * The supervisor as a behaviour, to spawn (or `spawnLink` from another supervisor).
 *
 * @since 0.1.0
 */
export const behaviour = (spec: Spec): Behaviour<State, void, DelayedRestart, Request, ChildStartFailed> => {
  const made = Process.make({
    name: `Supervisor(${spec.strategy})`,
    options: { trapExit: true },
    init: (_: void, ctx) => Run.startAll(makeState(spec), ctx),
    handleInfo: (info: Info, state, ctx) => (info._tag === "Exit" ? Run.childExited(state, ctx, info.from, info.reason) : Effect.succeed(state)),
    handleMessage: (message: DelayedRestart, state, ctx) => Run.restartIds(state, ctx, message.ids),
    handleCall: (request: Request, _from, state, ctx) => Run.request(state, ctx, request),
    terminate: (_reason, state, ctx) => Run.stopAll(state, ctx)
  })
  specOf.set(made, spec)
  return made
}

/**
 * Anything that can make a call: a node (`NodeService`) or a process context.
 *
 * @since 0.1.0
 */
export interface Caller {
  call: NodeService["call"]
}

/**
 * Starts a supervisor on a node. Its start fails with `InitFailed` (whose reason holds a
 * `ChildStartFailed`) when a child fails to start; the children already started are stopped.
 *
 * @since 0.1.0
 */
export const start = (
  node: NodeService,
  spec: Spec,
  options?: { readonly name?: string }
): Effect.Effect<Ref<DelayedRestart, Request>, SpawnError> => node.spawn(behaviour(spec), undefined, options)

/**
 * Starts a child: a `ChildSpec` for the static strategies, the extra args for `simple_one_for_one`.
 *
 * @since 0.1.0
 */
export const startChild = (
  caller: Caller,
  supervisor: Pid,
  specOrArgs: ChildSpec | unknown,
  timeout?: CallTimeout
): Effect.Effect<Pid, ChildStartFailed | ChildAlreadyPresent | CallError> =>
  caller.call(supervisor as Ref<never, Request>, makeStartChild(specOrArgs), timeout ?? "infinity")

/**
 * Stops a child (by id, or by pid for `simple_one_for_one`) and keeps its spec (deleted for dynamic children).
 *
 * @since 0.1.0
 */
export const terminateChild = (
  caller: Caller,
  supervisor: Pid,
  child: string | Pid
): Effect.Effect<void, ChildNotFound | CallError> =>
  caller.call(supervisor as Ref<never, Request>, new TerminateChild({ child }, true), "infinity")

/**
 * Starts a terminated child again from its spec.
 *
 * @since 0.1.0
 */
export const restartChild = (
  caller: Caller,
  supervisor: Pid,
  child: string
): Effect.Effect<Pid, ChildNotFound | ChildRunning | ChildStartFailed | CallError> =>
  caller.call(supervisor as Ref<never, Request>, new RestartChild({ child }, true), "infinity")

/**
 * Removes a terminated child's spec.
 *
 * @since 0.1.0
 */
export const deleteChild = (
  caller: Caller,
  supervisor: Pid,
  child: string
): Effect.Effect<void, ChildNotFound | ChildRunning | CallError> =>
  caller.call(supervisor as Ref<never, Request>, new DeleteChild({ child }, true))

/**
 * The children, in start order, with their pids (undefined when not running).
 *
 * @since 0.1.0
 */
export const whichChildren = (caller: Caller, supervisor: Pid): Effect.Effect<ReadonlyArray<ChildInfo>, CallError> =>
  caller.call(supervisor as Ref<never, Request>, new WhichChildren())

/**
 * Counts of specs, running children, supervisors and workers.
 *
 * @since 0.1.0
 */
export const countChildren = (caller: Caller, supervisor: Pid): Effect.Effect<ChildCounts, CallError> =>
  caller.call(supervisor as Ref<never, Request>, new CountChildren())

/**
 * A running supervision tree as a service.
 *
 * @since 0.1.0
 */
export class Supervisor extends Context.Tag("rain/Supervisor")<Supervisor, { readonly pid: Pid }>() {}

/**
 * The tree as a `Layer`: started when the layer is built, stopped (children in reverse
 * order) when its scope closes.
 *
 * @since 0.1.0
 */
export const layer = (spec: Spec): Layer.Layer<Supervisor, SpawnError, Node> =>
  Layer.scoped(Supervisor, Effect.flatMap(Node, (node) => startScoped(node, spec)))

/**
 * Starts a supervisor that stops with the enclosing scope.
 *
 * @since 0.1.0
 */
export const startScoped = (node: NodeService, spec: Spec): Effect.Effect<{ readonly pid: Pid }, SpawnError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.map(start(node, spec), (pid) => ({ pid })),
    ({ pid }) => node.exit(pid, Reason.shutdown).pipe(Effect.zipRight(node.awaitExit(pid)))
  )
