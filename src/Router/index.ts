/**
 * Routers, as Akka users know them: a routing logic over a set of routees (addresses of
 * processes on any node). Broadcast sends to every routee, random to one picked uniformly
 * (Effect's `Random`, so a seeded `Random` makes it repeatable), round-robin to each in turn,
 * and consistent hashing by a key of the message: a key always reaches the same routee while
 * the set is stable, and when a routee joins or leaves only about 1/N of the keys move (a hash
 * ring with virtual nodes, independent of the order of the routees).
 *
 * Two forms: a `Router` value that any process or plain Effect code routes with
 * (`Router.send`, `Router.call`: no extra hop), and a router process (`Router.behaviour`,
 * Akka's group router) that others send to, which forwards each message and call (a call
 * keeps its caller's reply address: the routee answers the caller directly) and takes new
 * routees with `SetRoutees`. A router does not start, watch or restart its routees: a
 * `Pool` does that (see `Pool`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Process, Router } from "rain"
 *
 * const shards = ["s0", "s1", "s2"].map((name) => Process.name(name, "db@localhost"))
 * const program = Effect.gen(function*() {
 *   const router = yield* Router.make(Router.consistentHashing({ key: (m: { user: string }) => m.user }), shards)
 *   const [shard] = yield* Router.route(router, { user: "ada" }) // always the same shard for "ada"
 *   return shard
 * })
 * ```
 * @since 0.2.0
 */
import { Effect } from "effect"
import type { Behaviour, CallTimeout, FailureOf, SuccessOf } from "../Process/Behaviour.js"
import type { SendError } from "../Process/Context.js"
import type { CallError } from "../Process/errors.js"
import type { Address } from "../Process/Pid.js"
import type { InvalidRouter, NoRoutees } from "./errors.js"
import { InvalidRouter as InvalidRouterClass, NoRoutees as NoRouteesClass } from "./errors.js"
import * as core from "./internal/core.js"
import * as internalProcess from "./internal/process.js"
import { GetRoutees, SetRoutees } from "./Protocol.js"

export {
  /**
   * Re-exported from `./errors`.
   *
   * @since 0.2.0
   * @category errors
   */
  InvalidRouter,
  /**
   * Re-exported from `./errors`.
   *
   * @since 0.2.0
   * @category errors
   */
  NoRoutees
} from "./errors.js"
export {
  /**
   * Re-exported from `./Protocol`.
   *
   * @since 0.2.0
   * @category requests
   */
  GetRoutees,
  /**
   * Re-exported from `./Protocol`.
   *
   * @since 0.2.0
   * @category requests
   */
  SetRoutees
} from "./Protocol.js"

/**
 * How a router picks routees for a message.
 *
 * @since 0.2.0
 * @category models
 */
export type Logic<M = any> = core.Logic<M>

/**
 * A routing logic over a set of routees. Immutable but for the round-robin position; build
 * it with `make` and change its routees with `withRoutees`.
 *
 * @since 0.2.0
 * @category models
 */
export type Router<M = unknown, Q = never> = core.Router<M, Q>

/**
 * Every routee gets every message.
 *
 * @since 0.2.0
 * @category logics
 */
export const broadcast: Logic = core.broadcast

/**
 * One routee picked uniformly at random (Effect's `Random`).
 *
 * @since 0.2.0
 * @category logics
 */
export const random: Logic = core.random

/**
 * Each routee in turn.
 *
 * @since 0.2.0
 * @category logics
 */
export const roundRobin: Logic = core.roundRobin

/**
 * The routee that owns the message's key on a hash ring with `virtualNodes` points per
 * routee (default 160): the same key always reaches the same routee while the routees stay
 * the same, and a routee joining or leaving moves only about 1/N of the keys.
 *
 * @example
 * ```ts
 * import { Router } from "rain"
 *
 * const byUser = Router.consistentHashing({ key: (m: { readonly user: string }) => m.user })
 * ```
 * @since 0.2.0
 * @category logics
 */
export const consistentHashing: <M>(options: {
  readonly key: (message: M) => string | number
  readonly virtualNodes?: number | undefined
}) => Logic<M> = core.consistentHashing

/**
 * Builds a router. Fails with `InvalidRouter` for a `virtualNodes` that is not an integer in
 * 1..10,000, or a routee given twice.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: <M, Q = never>(
  logic: Logic<M>,
  routees: Iterable<Address<M, Q>>
) => Effect.Effect<Router<M, Q>, InvalidRouter> = core.make

/**
 * The same logic over other routees (a consistent-hash router keeps the keys of the routees
 * that stay where they were).
 *
 * @since 0.2.0
 * @category combinators
 */
export const withRoutees = <M, Q>(
  router: Router<M, Q>,
  routees: Iterable<Address<M, Q>>
): Effect.Effect<Router<M, Q>, InvalidRouter> => core.make(router.logic, routees)

/**
 * The routees a message goes to: all of them for broadcast, one otherwise. Fails with
 * `NoRoutees` when there are none.
 *
 * @since 0.2.0
 * @category routing
 */
export const route: <M, Q>(router: Router<M, Q>, message: M) => Effect.Effect<ReadonlyArray<Address<M, Q>>, NoRoutees> =
  core.route

/**
 * What can send: a node (`NodeService`) or a handler's `ctx`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Sender {
  send<M2>(to: Address<M2, any>, message: NoInfer<M2>): Effect.Effect<void, SendError>
}

/**
 * What can call: a node (`NodeService`) or a handler's `ctx`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Caller {
  call<Q2, R extends Q2>(to: Address<any, Q2>, request: R, timeout?: CallTimeout): Effect.Effect<SuccessOf<R>, FailureOf<R> | CallError>
}

/**
 * Sends a message to its routees. A broadcast tries every routee and then fails with the
 * first refusal, if any (a full mailbox); sending to a dead routee is silent, as `send` is.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node, Process, Router } from "rain"
 *
 * const Shard = Process.make({
 *   name: "Shard",
 *   init: () => Effect.succeed(new Map<string, number>()),
 *   handleMessage: (put: { readonly key: string; readonly value: number }, data) =>
 *     Effect.sync(() => data.set(put.key, put.value))
 * })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@localhost")
 *   const shards = yield* Effect.forEach([1, 2, 3], () => node.spawn(Shard, undefined))
 *   const router = yield* Router.make(Router.consistentHashing({ key: (put: { readonly key: string }) => put.key }), shards)
 *   yield* Router.send(node, router, { key: "ada", value: 1 }) // "ada" always reaches the same shard
 * }))
 * ```
 * @since 0.2.0
 * @category routing
 */
export const send = <M, Q>(sender: Sender, router: Router<M, Q>, message: M): Effect.Effect<void, SendError | NoRoutees> =>
  Effect.flatMap(route(router, message), (targets) => {
    if (targets.length === 1) return sender.send(targets[0]!, message as any)
    return Effect.flatMap(
      Effect.forEach(targets, (to) => Effect.either(sender.send(to, message as any))),
      (results) => {
        const failed = results.find((r) => r._tag === "Left")
        return failed === undefined ? Effect.void : Effect.fail(failed.left)
      }
    )
  })

/**
 * Calls a routee and waits for its reply. A broadcast router calls every routee at once and
 * succeeds with the first reply (Akka's scatter-gather), failing only if all of them fail.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Node, Process, Router } from "rain"
 *
 * class Quote extends Schema.TaggedRequest<Quote>()("Quote", {
 *   failure: Schema.Never,
 *   success: Schema.Number,
 *   payload: { item: Schema.String }
 * }) {}
 *
 * const Supplier = Process.make({
 *   name: "Supplier",
 *   init: (price: number) => Effect.succeed(price),
 *   handleCall: (_: Quote, _from, price) => Effect.succeed(Process.reply(price, price))
 * })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@localhost")
 *   const suppliers = yield* Effect.forEach([10, 12], (price) => node.spawn(Supplier, price))
 *   const everyone = yield* Router.make(Router.broadcast, suppliers)
 *   const first = yield* Router.call(node, everyone, new Quote({ item: "tea" }), "1 second") // the fastest answer
 * }))
 * ```
 * @since 0.2.0
 * @category routing
 */
export const call = <M, Q, R extends Q>(
  caller: Caller,
  router: Router<M, Q>,
  request: R,
  timeout?: CallTimeout
): Effect.Effect<SuccessOf<R>, FailureOf<R> | CallError | NoRoutees> =>
  Effect.flatMap(route(router, request as unknown as M), (targets) => {
    if (targets.length === 1) return caller.call(targets[0]!, request, timeout)
    return Effect.raceAll(targets.map((to) => caller.call(to, request, timeout)))
  })

/**
 * A router process (Akka's group router): spawn it, then send and call it as you would one
 * of its routees. It forwards each message to the routees its logic picks and each call
 * with the caller's reply address, so the routee answers the caller directly (a broadcast
 * call: the first reply wins). A call whose routee is gone fails with `ProcessUnknown`, one
 * whose routee's mailbox is full with `MailboxFull`; a message to either is dropped, as a
 * `send` is. `SetRoutees` and `GetRoutees` change and read its routees.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node, Process, Router } from "rain"
 *
 * const program = (node: Node.NodeService, workers: ReadonlyArray<Process.Pid>) =>
 *   Effect.gen(function*() {
 *     const router = yield* Router.make(Router.roundRobin, workers)
 *     const pid = yield* node.spawn(Router.behaviour(router), undefined, { name: "work" })
 *     yield* node.send("work", "job 1") // one worker gets it
 *   })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const behaviour = <M, Q>(
  router: Router<M, Q>,
  options?: { readonly name?: string | undefined; readonly mailboxSize?: number | undefined }
): Behaviour<Router<M, Q>, void, M, Q | SetRoutees | GetRoutees, InvalidRouter, never> =>
  internalProcess.make(router, options) as any

/**
 * The classes of a router process's requests and errors: list them in `network.messages` of
 * nodes that talk to a router process on another node.
 *
 * @since 0.2.0
 * @category wire
 */
export const messages = [SetRoutees, GetRoutees, InvalidRouterClass, NoRouteesClass] as const
