/**
 * Process groups, as Erlang's `pg`: named groups of processes across the nodes of a cluster,
 * inside independent scopes. A process joins a group on its own node (more than once if it
 * likes: it is then listed once per join), leaves it, or ends, which leaves every group.
 * `members` lists a group's processes on every connected node, `localMembers` this node's.
 * `monitor` a group (or `monitorScope` every group) to get `GroupJoined`/`GroupLeft` messages.
 *
 * Each scope is a process per node (`Group.start` on every node that uses it): it syncs with
 * the same scope on each node that connects, drops a node's members when the node goes, and
 * gets them back when it returns. The view converges, as pg's does: right after a join on one
 * node, another node may not list it yet.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Group, Node, Process } from "rain"
 *
 * const Worker = Process.make({
 *   name: "Worker",
 *   init: (_: void, ctx) => Group.join(ctx, "workers", ctx.self)
 * })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@localhost")
 *   yield* Group.start(node)
 *   yield* node.spawn(Worker, undefined)
 *   const workers = yield* Group.members(node, "workers") // [<app@localhost.2.…>]
 * }))
 * ```
 * @since 0.2.0
 */
import { Effect, Layer } from "effect"
import type { Context } from "../Process/Context.js"
import * as Reason from "../Process/ExitReason.js"
import type { CallError } from "../Process/errors.js"
import type { Pid, Reference } from "../Process/Pid.js"
import type { NodeService } from "../Node/index.js"
import { Node } from "../Node/Service.js"
import type { Kernel } from "../Node/internal/kernel.js"
import { kernelOf, kernelOfPid } from "../Node/internal/kernel.js"
import type { ScopeState } from "./internal/scope.js"
import {
  DemonitorRequest,
  JoinRequest,
  LeaveRequest,
  MonitorRequest,
  ScopeBehaviour,
  scopeOf,
  scopeProcessName
} from "./internal/scope.js"
import { InvalidGroup, NotLocal, ScopeNotStarted } from "./types.js"

export {
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category errors
   */
  InvalidGroup,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category messages
   */
  Joined,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category messages
   */
  Left,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category errors
   */
  NotLocal,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category errors
   */
  ScopeNotStarted
} from "./types.js"

/**
 * The scope used when none is given (pg's is `pg`).
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultScope = "default"

/**
 * Where a group function runs: a process's `ctx` or a node.
 *
 * @since 0.2.0
 * @category models
 */
export type Where = Context<any, any> | NodeService

/**
 * Options naming the scope (default {@link defaultScope}).
 *
 * @since 0.2.0
 * @category models
 */
export interface ScopeOptions {
  readonly scope?: string | undefined
}

const kernelOfWhere = (where: Where): Kernel =>
  "self" in where ? kernelOfPid(where.self)! : kernelOf(where)

/** A string for `InvalidGroup`'s value, whatever plain JS passed. */
const shown = (value: unknown): string => typeof value === "string" ? value : String(value)

/** `where` from plain JS: a node or a process's ctx, or `InvalidGroup`. */
const checkWhere = (where: unknown): InvalidGroup | undefined =>
  typeof where === "object" && where !== null && ("self" in where || "spawn" in where)
    ? undefined
    : new InvalidGroup({ what: "node or ctx", value: shown(where) })

const stateOf = (
  where: Where,
  options: ScopeOptions | undefined
): Effect.Effect<ScopeState, ScopeNotStarted | InvalidGroup> =>
  Effect.suspend((): Effect.Effect<ScopeState, ScopeNotStarted | InvalidGroup> => {
    const badWhere = checkWhere(where)
    if (badWhere !== undefined) return Effect.fail(badWhere)
    const scope = options?.scope ?? defaultScope
    if (typeof scope !== "string" || scope.length === 0) {
      return Effect.fail(new InvalidGroup({ what: "scope", value: shown(scope) }))
    }
    const kernel = kernelOfWhere(where)
    const state = scopeOf(kernel, scope)
    return state === undefined ? Effect.fail(new ScopeNotStarted({ scope, node: kernel.name })) : Effect.succeed(state)
  })

const pidsOf = (pids: Pid | ReadonlyArray<Pid>): ReadonlyArray<Pid> => (Array.isArray(pids) ? pids : [pids as Pid])

/**
 * Starts a scope on a node (pg's `start_link(Scope)`), or returns the one running. Start it on
 * every node that uses groups of that scope; it finds the others by itself.
 *
 * @since 0.2.0
 * @category constructors
 */
export const start = (node: NodeService, options?: ScopeOptions): Effect.Effect<Pid, InvalidGroup> =>
  Effect.suspend(() => {
    const badWhere = checkWhere(node)
    if (badWhere !== undefined) return Effect.fail(badWhere)
    const scope = options?.scope ?? defaultScope
    if (typeof scope !== "string" || scope.length === 0) {
      return Effect.fail(new InvalidGroup({ what: "scope", value: shown(scope) }))
    }
    const state = scopeOf(kernelOf(node), scope)
    if (state !== undefined) return Effect.succeed(state.self.pid)
    return Effect.orDie(node.spawn(ScopeBehaviour, { scope, nodes: node.nodes }, { name: scopeProcessName(scope) }))
  })

/**
 * A scope as a `Layer` over the node: started when the layer is built, stopped (reason
 * `shutdown`) when it is released.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Group, Node } from "rain"
 *
 * const Live = Group.layer().pipe(Layer.provideMerge(Node.layer("app@localhost")))
 * const program = Effect.flatMap(Node.Node, (node) => Group.members(node, "workers"))
 * Effect.runPromise(Effect.provide(program, Live))
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layer = (options?: ScopeOptions): Layer.Layer<never, InvalidGroup, Node> =>
  Layer.scopedDiscard(
    Effect.flatMap(Node, (node) =>
      Effect.acquireRelease(start(node, options), (pid) =>
        Effect.zipRight(node.exit(pid, Reason.shutdown), Effect.asVoid(node.awaitExit(pid)))))
  )

const checkGroup = (group: string) =>
  typeof group !== "string" || group.length === 0
    ? Effect.fail(new InvalidGroup({ what: "group", value: shown(group) }))
    : Effect.void

/**
 * Joins local processes to a group (pg's `join`); a pid given twice, or joined twice, is a
 * member twice and leaves once per `leave`. Fails with `NotLocal` for a pid of another node.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Group, Process } from "rain"
 *
 * const Worker = Process.make({ name: "Worker", init: (_: void, ctx) => Group.join(ctx, "workers", ctx.self) })
 * ```
 * @since 0.2.0
 * @category membership
 */
export const join = (
  where: Where,
  group: string,
  pids: Pid | ReadonlyArray<Pid>,
  options?: ScopeOptions
): Effect.Effect<void, ScopeNotStarted | NotLocal | InvalidGroup | CallError> =>
  Effect.gen(function*() {
    yield* checkGroup(group)
    const state = yield* stateOf(where, options)
    const list = pidsOf(pids)
    for (const pid of list) {
      if (pid.node !== state.kernel.name || pid.creation !== state.kernel.creation) {
        return yield* new NotLocal({ pid, node: state.kernel.name })
      }
    }
    if (list.length === 0) return
    yield* where.call(state.self.pid, new JoinRequest(group, list) as never)
  })

/**
 * Removes local processes from a group, one membership per pid (pg's `leave`): true if any
 * was a member, false if none was (pg's `not_joined`).
 *
 * @since 0.2.0
 * @category membership
 */
export const leave = (
  where: Where,
  group: string,
  pids: Pid | ReadonlyArray<Pid>,
  options?: ScopeOptions
): Effect.Effect<boolean, ScopeNotStarted | NotLocal | InvalidGroup | CallError> =>
  Effect.gen(function*() {
    yield* checkGroup(group)
    const state = yield* stateOf(where, options)
    const list = pidsOf(pids)
    for (const pid of list) {
      if (pid.node !== state.kernel.name || pid.creation !== state.kernel.creation) {
        return yield* new NotLocal({ pid, node: state.kernel.name })
      }
    }
    if (list.length === 0) return false
    return (yield* where.call(state.self.pid, new LeaveRequest(group, list) as never)) as boolean
  })

/** A copy of a group's members in one of the scope's tables (every node's, or this node's). */
const read = (where: Where, group: string, options: ScopeOptions | undefined, table: "all" | "local") =>
  Effect.zipRight(checkGroup(group), Effect.map(stateOf(where, options), (state) => (state[table].get(group) ?? []).slice()))

/**
 * The members of a group on every connected node, this node's first (pg's `get_members`),
 * read without a message. Empty for an unknown group.
 *
 * @since 0.2.0
 * @category reading
 */
export const members = (
  where: Where,
  group: string,
  options?: ScopeOptions
): Effect.Effect<ReadonlyArray<Pid>, ScopeNotStarted | InvalidGroup> =>
  read(where, group, options, "all")

/**
 * The members of a group on this node (pg's `get_local_members`).
 *
 * @since 0.2.0
 * @category reading
 */
export const localMembers = (
  where: Where,
  group: string,
  options?: ScopeOptions
): Effect.Effect<ReadonlyArray<Pid>, ScopeNotStarted | InvalidGroup> =>
  read(where, group, options, "local")

/**
 * The groups with at least one member on any connected node (pg's `which_groups`).
 *
 * @since 0.2.0
 * @category reading
 */
export const whichGroups = (
  where: Where,
  options?: ScopeOptions
): Effect.Effect<ReadonlyArray<string>, ScopeNotStarted | InvalidGroup> =>
  Effect.map(stateOf(where, options), (state) => Array.from(state.all.keys()))

/**
 * The groups with at least one member on this node (pg's `which_local_groups`).
 *
 * @since 0.2.0
 * @category reading
 */
export const whichLocalGroups = (
  where: Where,
  options?: ScopeOptions
): Effect.Effect<ReadonlyArray<string>, ScopeNotStarted | InvalidGroup> =>
  Effect.map(stateOf(where, options), (state) => Array.from(state.local.keys()))

/**
 * Monitors a group's membership (pg's `monitor`): returns a reference and the members now;
 * then `GroupJoined`/`GroupLeft` messages with that reference arrive in `handleMessage` for each
 * change, until `demonitor` or the end of the process.
 *
 * @example
 * ```ts
 * import { Effect, Equal } from "effect"
 * import { Group, Process } from "rain"
 *
 * // keeps the members of "workers", on every node, up to date
 * const Dispatcher = Process.make({
 *   name: "Dispatcher",
 *   init: (_: void, ctx) => Effect.map(Group.monitor(ctx, "workers"), ({ members }) => members),
 *   handleMessage: (change: Group.Joined | Group.Left, members) =>
 *     Effect.succeed(
 *       change._tag === "GroupJoined"
 *         ? [...members, ...change.pids]
 *         : members.filter((pid) => !change.pids.some((gone) => Equal.equals(gone, pid)))
 *     )
 * })
 * ```
 *
 * @since 0.2.0
 * @category monitoring
 */
export const monitor = (
  ctx: Context<any, any>,
  group: string,
  options?: ScopeOptions
): Effect.Effect<
  { readonly ref: Reference; readonly members: ReadonlyArray<Pid> },
  ScopeNotStarted | InvalidGroup | CallError
> =>
  Effect.gen(function*() {
    yield* checkGroup(group)
    const state = yield* stateOf(ctx, options)
    const answer = (yield* ctx.call(state.self.pid, new MonitorRequest(ctx.self, group) as never)) as {
      readonly ref: Reference
      readonly groups: ReadonlyMap<string, ReadonlyArray<Pid>>
    }
    return { ref: answer.ref, members: answer.groups.get(group) ?? [] }
  })

/**
 * Monitors every group of a scope (pg's `monitor_scope`): returns a reference and the groups
 * now with their members; then `GroupJoined`/`GroupLeft` for every group.
 *
 * @since 0.2.0
 * @category monitoring
 */
export const monitorScope = (
  ctx: Context<any, any>,
  options?: ScopeOptions
): Effect.Effect<
  { readonly ref: Reference; readonly groups: ReadonlyMap<string, ReadonlyArray<Pid>> },
  ScopeNotStarted | InvalidGroup | CallError
> =>
  Effect.flatMap(stateOf(ctx, options), (state) =>
    ctx.call(state.self.pid, new MonitorRequest(ctx.self, undefined) as never) as Effect.Effect<
      { readonly ref: Reference; readonly groups: ReadonlyMap<string, ReadonlyArray<Pid>> },
      CallError
    >)

/**
 * Removes a membership monitor; true if it was active.
 *
 * @since 0.2.0
 * @category monitoring
 */
export const demonitor = (
  ctx: Context<any, any>,
  ref: Reference,
  options?: ScopeOptions
): Effect.Effect<boolean, ScopeNotStarted | InvalidGroup | CallError> =>
  Effect.flatMap(
    stateOf(ctx, options),
    (state) => ctx.call(state.self.pid, new DemonitorRequest(ref) as never) as Effect.Effect<boolean, CallError>
  )
