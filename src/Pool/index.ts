/**
 * Worker pools (Ergo's `act.Pool`): a process that
 * owns N workers of one behaviour and forwards each message or call sent to it to one of
 * them, round-robin or to the least busy. A forwarded call keeps its caller's reply
 * address, so the worker answers the caller directly.
 *
 * - Workers are linked to the pool; one that ends is restarted in its slot, within a
 *   restart intensity (`intensity` restarts in `period`, default 10 in 5 s) past which the
 *   pool gives up and exits with reason `shutdown`, as a supervisor does (its workers go
 *   with it).
 * - `Pool.resize` grows or shrinks it at run time.
 * - Backpressure: worker mailboxes are bounded (`workerMailboxSize`, default 100), and so is
 *   the pool's own (`mailboxSize`, default 1000). When every worker is full the pool waits
 *   up to `overflow.wait` (default 1 s) for room, taking nothing else meanwhile, so its own
 *   mailbox fills and senders feel it (`node.send` waits, `ctx.send` and `node.call` fail
 *   with `MailboxFull`); past the wait, or at once with `overflow: "reject"`, a call fails
 *   with `PoolBusy` and a plain message is dropped (counted in `rejected`, one warning per
 *   saturated spell).
 * - Workers may sit on other nodes (`nodes`): they are spawned there by behaviour name
 *   (the node must list it in `network.allowSpawn`), and a lost node is a crash of its
 *   workers: each is restarted on its node or, failing that, on the next one in `nodes`.
 *   The pool cannot see a remote worker's mailbox: it never looks full (its own node
 *   refuses a call to a full mailbox with `MailboxFull`, and drops a message), and for
 *   least-busy it counts as empty unless the connection to its node is backed up.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node, Pool, Process } from "rain"
 *
 * const Square = Process.make({
 *   name: "Square",
 *   init: () => Effect.void,
 *   handleCall: (n: number) => Effect.succeed(Process.reply(n * n, undefined))
 * })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("demo@localhost")
 *   const pool = yield* node.spawn(Pool.make({ worker: Square, args: undefined, size: 4 }), undefined)
 *   const nine = yield* Pool.call(node, pool, 3)
 *   yield* Pool.resize(node, pool, 8)
 * }))
 * ```
 * @since 0.2.0
 */
import type { Duration, Effect } from "effect"
import type { Behaviour, CallTimeout, FailureOf, SuccessOf } from "../Process/Behaviour.js"
import type { CallError } from "../Process/errors.js"
import type { Address } from "../Process/Pid.js"
import { InvalidPoolOptions, PoolBusy, WorkerStartFailed } from "./errors.js"
import * as internal from "./internal/pool.js"
import { GetStats, Resize, Stats } from "./Protocol.js"

export {
  /**
   * Re-exported from `./errors`.
   *
   * @since 0.2.0
   * @category errors
   */
  InvalidPoolOptions,
  /**
   * Re-exported from `./errors`.
   *
   * @since 0.2.0
   * @category errors
   */
  PoolBusy,
  /**
   * Re-exported from `./errors`.
   *
   * @since 0.2.0
   * @category errors
   */
  WorkerStartFailed
} from "./errors.js"
export {
  /**
   * Re-exported from `./Protocol`.
   *
   * @since 0.2.0
   * @category requests
   */
  GetStats,
  /**
   * Re-exported from `./Protocol`.
   *
   * @since 0.2.0
   * @category requests
   */
  Resize,
  /**
   * Re-exported from `./Protocol`.
   *
   * @since 0.2.0
   * @category models
   */
  Stats
} from "./Protocol.js"

/**
 * How a pool picks the worker for each message: `"round-robin"` (each in turn, skipping full
 * ones) or `"least-busy"` (the shortest mailbox, counting a running handler as one message;
 * ties go round-robin).
 *
 * @since 0.2.0
 * @category models
 */
export type Strategy = internal.Strategy

/**
 * What a pool does when every worker's mailbox is full: wait up to `wait` for room (default
 * `{ wait: "1 second" }`), or `"reject"` at once. Past it, a call fails with `PoolBusy` and a
 * plain message is dropped.
 *
 * @since 0.2.0
 * @category models
 */
export type Overflow = internal.Overflow

/**
 * The options of `Pool.make`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options<S, A, M, Q, E, R> {
  /** The pool's behaviour name (in `node.info`, crash reports); default `Pool(<worker name>)`. */
  readonly name?: string | undefined
  /** The workers' behaviour; for workers on other nodes, the name those nodes allow in `network.allowSpawn`. */
  readonly worker: Behaviour<S, A, M, Q, E, R>
  /** What each worker's `init` gets (it crosses the wire for remote workers). */
  readonly args: A
  /** Number of workers (at least 1). */
  readonly size: number
  /** Default `"round-robin"`. */
  readonly strategy?: Strategy | undefined
  /** Bound of each local worker's mailbox (default 100); a remote worker's is its behaviour's own. */
  readonly workerMailboxSize?: number | undefined
  /** Bound of the pool's own mailbox (default 1000). */
  readonly mailboxSize?: number | undefined
  /** What to do when every worker is full; default `{ wait: "1 second" }`. */
  readonly overflow?: Overflow | undefined
  /** Worker restarts allowed within `period` before the pool gives up (default 10). */
  readonly intensity?: number | undefined
  /** Default 5 seconds. */
  readonly period?: Duration.DurationInput | undefined
  /**
   * Nodes to place workers on, in turn (worker i on `nodes[i % nodes.length]`); this node's
   * own name places a worker here. Default: this node only.
   */
  readonly nodes?: ReadonlyArray<string> | undefined
}

/**
 * A pool's behaviour: spawn it like any process. It accepts its workers' messages and
 * requests, plus `Resize` and `GetStats`. Bad options fail its `init` (the spawn fails with
 * `InitFailed` carrying `InvalidPoolOptions`), and so does a worker that cannot start.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Pool, Process } from "rain"
 *
 * const Worker = Process.make({
 *   name: "Worker",
 *   init: () => Effect.void,
 *   handleMessage: (job: string) => Effect.log(`working on ${job}`)
 * })
 * const Jobs = Pool.make({ worker: Worker, args: undefined, size: 4, strategy: "least-busy" })
 * // const pool = yield* node.spawn(Jobs, undefined, { name: "jobs" })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const make = <S, A, M, Q, E, R>(
  options: Options<S, A, M, Q, E, R>
): Behaviour<unknown, void, M, Q | Resize | GetStats, E | InvalidPoolOptions | WorkerStartFailed, R> =>
  internal.make(options) as any

/**
 * What can make a call: a node (`NodeService`) or a handler's `ctx`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Caller {
  call<Q, R extends Q>(to: Address<any, Q>, request: R, timeout?: CallTimeout): Effect.Effect<SuccessOf<R>, FailureOf<R> | CallError>
}

/**
 * Calls a pool: a worker answers. Its error type adds `PoolBusy` (every worker full) to the
 * request's own and the call errors; a worker that crashes while handling it fails the call
 * with `ProcessExited`, a lost worker node with `NoConnection`.
 *
 * @since 0.2.0
 * @category calls
 */
export const call = <Q, R extends Q>(
  caller: Caller,
  pool: Address<any, Q>,
  request: R,
  timeout?: CallTimeout
): Effect.Effect<SuccessOf<R>, FailureOf<R> | CallError | PoolBusy> => caller.call(pool, request, timeout) as any

/**
 * Grows or shrinks a pool to `size` workers; succeeds with the new size. Shrinking stops
 * the least busy workers with reason `shutdown` (what was queued in their mailboxes is
 * dropped, as when a supervisor stops a child).
 *
 * @since 0.2.0
 * @category calls
 */
export const resize = (
  caller: Caller,
  pool: Address<any, Resize>,
  size: number,
  timeout?: CallTimeout
): Effect.Effect<number, InvalidPoolOptions | WorkerStartFailed | CallError> =>
  caller.call(pool, new Resize({ size }, true), timeout)

/**
 * A pool's figures: its workers, how many messages it forwarded and refused, restarts.
 *
 * @since 0.2.0
 * @category calls
 */
export const stats = (caller: Caller, pool: Address<any, GetStats>, timeout?: CallTimeout): Effect.Effect<Stats, CallError> =>
  caller.call(pool, new GetStats(), timeout)

/**
 * The classes a pool's control requests, figures and errors are made of: list them in
 * `network.messages` of the nodes that call a pool on another node.
 *
 * @since 0.2.0
 * @category wire
 */
export const messages = [Resize, GetStats, Stats, PoolBusy, InvalidPoolOptions, WorkerStartFailed] as const
