/**
 * The process context: what a handler can do, handed to every handler as `ctx`.
 *
 * @since 0.1.0
 */
import type { Duration, Effect } from "effect"
import type { Behaviour, CallTimeout, FailureOf, Priority, SpawnOptions, SuccessOf } from "./Behaviour.js"
import type {
  AlreadyRegistered,
  CallError,
  MailboxFull,
  MemoryLimit,
  MessageTooLarge,
  NameTaken,
  NoConnection,
  NotDistributed,
  ProcessUnknown,
  SpawnError,
  SpawnRefused,
  Timeout
} from "./errors.js"
import type { EncodeFailed, TypeNotRegistered } from "../Message/errors.js"
import type { ExitReason } from "./ExitReason.js"
import type { From } from "./Message.js"
import type { Address, Alias, Name, Pid, Ref, Reference } from "./Pid.js"

/**
 * A timer started by `sendAfter`; cancel it with `ctx.cancelTimer`.
 *
 * @since 0.1.0
 */
export interface Timer {
  readonly ref: Reference
  /** Cancels the timer; true if it had not fired yet. */
  readonly cancel: Effect.Effect<boolean>
}

/**
 * Errors a `send` can report. Sending to a dead or unknown process is silent, as in
 * Erlang; a full mailbox or a remote message that cannot be encoded (its class not
 * registered, or rejected by its schema) is not.
 *
 * @since 0.1.0
 * @category errors
 */
export type SendError = MailboxFull | MemoryLimit | NoConnection | MessageTooLarge | TypeNotRegistered | EncodeFailed

/**
 * Errors of an important send (`sendImportant`): unlike `send`, a dead or unknown target
 * is reported (`ProcessUnknown`), and so is a receipt that does not come in time (`Timeout`).
 *
 * @since 0.2.0
 * @category models
 */
export type ImportantSendError = SendError | ProcessUnknown | Timeout

/**
 * Everything a process can do from inside its handlers.
 *
 * @since 0.1.0
 */
export interface Context<M = unknown, Q = any> {
  /** This process, typed with its own protocol. */
  readonly self: Ref<M, Q>
  /** The name of the node the process runs on. */
  readonly node: string
  /** Sends a message; silent if the target is gone, fails if its mailbox is full. */
  send<M2>(to: Address<M2, any>, message: NoInfer<M2>, priority?: Priority): Effect.Effect<void, SendError>
  /**
   * Sends a message and completes only once it is in the target's mailbox, on this node or
   * another (Ergo's SendImportant), or fails with why not: `ProcessUnknown`, `MailboxFull`,
   * `NoConnection`, or `Timeout` when no receipt comes within `timeout` (default: the node's
   * call timeout). A remote important send costs a round trip; `send` does not wait.
   *
   * @example
   * ```ts
   * yield* ctx.sendImportant(Process.name("ledger", "b@host"), new Entry({ amount: 5 }))
   * ```
   */
  sendImportant<M2>(
    to: Address<M2, any>,
    message: NoInfer<M2>,
    options?: { readonly priority?: Priority | undefined; readonly timeout?: CallTimeout | undefined }
  ): Effect.Effect<void, ImportantSendError>
  /**
   * A `call` whose request is acknowledged as soon as it is in the callee's mailbox (Ergo's
   * CallImportant): a request that cannot be delivered fails at once, and a `Timeout` tells
   * (`delivered`) whether the request had arrived, so a lost request is told apart from a
   * slow handler.
   */
  callImportant<Q2, R2 extends Q2>(
    to: Address<any, Q2>,
    request: R2,
    timeout?: CallTimeout
  ): Effect.Effect<SuccessOf<R2>, FailureOf<R2> | CallError>
  /**
   * Calls a process and waits for its reply (default timeout 5 s). The caller handles
   * no other message meanwhile, as with `gen_server:call`.
   */
  call<Q2, R2 extends Q2>(
    to: Address<any, Q2>,
    request: R2,
    timeout?: CallTimeout
  ): Effect.Effect<SuccessOf<R2>, FailureOf<R2> | CallError>
  /**
   * Answers a call whose handler returned `noReply`. A reply to a caller that gave up is
   * dropped. The value is checked against the `From`'s reply type (the request's success).
   */
  reply<A>(from: From<A>, value: NoInfer<A>): Effect.Effect<void>
  /** Fails a call whose handler returned `noReply` with the request's error. */
  replyError(from: From, error: unknown): Effect.Effect<void>
  /** Sends `message` to `to` after `delay` (Clock time, so `TestClock` drives it). */
  sendAfter<M2>(to: Address<M2, any>, message: NoInfer<M2>, delay: Duration.DurationInput): Effect.Effect<Timer>
  /** Cancels a timer; true if it had not fired yet. */
  cancelTimer(timer: Timer): Effect.Effect<boolean>
  /**
   * Spawns a process. `init` has run when this succeeds. The child runs with this
   * process's services, so its requirements `R` become this handler's.
   */
  spawn<S, A, M2, Q2, E, R>(
    behaviour: Behaviour<S, A, M2, Q2, E, R>,
    args: A,
    options?: SpawnOptions
  ): Effect.Effect<Ref<M2, Q2>, SpawnError, R>
  /** Spawns and links in one step: no exit can slip between. */
  spawnLink<S, A, M2, Q2, E, R>(
    behaviour: Behaviour<S, A, M2, Q2, E, R>,
    args: A,
    options?: SpawnOptions
  ): Effect.Effect<Ref<M2, Q2>, SpawnError, R>
  /** Spawns and monitors in one step. */
  spawnMonitor<S, A, M2, Q2, E, R>(
    behaviour: Behaviour<S, A, M2, Q2, E, R>,
    args: A,
    options?: SpawnOptions
  ): Effect.Effect<readonly [Ref<M2, Q2>, Reference], SpawnError, R>
  /**
   * Spawns, on another node, a behaviour that node allows by name (its `network.allowSpawn`);
   * its messages must be registered types. Fails with `SpawnRefused` (not allowed there,
   * init failed, no connection) or `NotDistributed`.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { Process } from "rain"
   *
   * const Coordinator = Process.make({
   *   name: "Coordinator",
   *   init: (_: void, ctx) =>
   *     Effect.gen(function*() {
   *       // "Worker" must be in b@host's network.allowSpawn
   *       const worker = yield* ctx.spawnRemoteLink("b@host", "Worker", { chunk: 3 })
   *       return worker
   *     })
   * })
   * ```
   */
  spawnRemote(
    node: string,
    behaviour: string,
    args: unknown,
    options?: { readonly name?: string }
  ): Effect.Effect<Pid, SpawnRefused | NotDistributed>
  /** `spawnRemote`, linked from the start: an exit right after init still reaches this process. */
  spawnRemoteLink(
    node: string,
    behaviour: string,
    args: unknown,
    options?: { readonly name?: string }
  ): Effect.Effect<Pid, SpawnRefused | NotDistributed>
  /** `spawnRemote`, monitored from the start: exactly one `Down` follows. */
  spawnRemoteMonitor(
    node: string,
    behaviour: string,
    args: unknown,
    options?: { readonly name?: string }
  ): Effect.Effect<readonly [Pid, Reference], SpawnRefused | NotDistributed>
  /** Links to a process; linking to a dead one delivers an exit signal `noproc`. */
  link(pid: Pid): Effect.Effect<void>
  unlink(pid: Pid): Effect.Effect<void>
  /** Monitors a process or name; exactly one `Down` follows (`noproc` if already gone). */
  monitor(target: Pid | Name | string): Effect.Effect<Reference>
  /** Removes a monitor; no `Down` for it arrives afterwards. */
  demonitor(ref: Reference): Effect.Effect<void>
  /** Sends an exit signal. `kill` cannot be trapped. */
  exit(pid: Pid, reason: ExitReason): Effect.Effect<void>
  /**
   * Waits until a process on this node has exited and returns its reason (`noproc` if
   * it was not alive), without taking anything from this process's mailbox: what
   * Erlang does with a monitor and a selective receive. Supervisors use it to stop
   * children one by one.
   */
  awaitExit(pid: Pid): Effect.Effect<ExitReason>
  /** Turns exit trapping on or off. */
  trapExit(on: boolean): Effect.Effect<void>
  /** Registers this process under a name on its node. */
  register(name: string): Effect.Effect<void, NameTaken | AlreadyRegistered>
  /** Removes this process's registered name, if any. */
  unregister(): Effect.Effect<void>
  /** Creates an alias: an extra address of this process, valid until `unalias`. */
  alias(): Effect.Effect<Alias>
  unalias(alias: Alias): Effect.Effect<boolean>
  /** Stops this process with `reason` (default `normal`) once the current handler returns. */
  stop(reason?: ExitReason): Effect.Effect<void>
  /** After this handler, deliver `IdleTimeout` to `handleInfo` if no message arrives within `after`. */
  setTimeout(after: Duration.DurationInput): Effect.Effect<void>
  /**
   * The node's `Clock` (a `TestClock` in tests) in milliseconds. Unlike
   * `Clock.currentTimeMillis`, reading it does not move the handler onto a fiber.
   */
  readonly currentTimeMillis: Effect.Effect<number>
  /**
   * Monitors a node: `NodeDown`/`NodeUp` arrive in `handleInfo`. `"*"` monitors every node, as
   * `net_kernel:monitor_nodes(true)` does: each connection that comes up or goes down is reported,
   * and nothing is reported for the nodes not connected at the time.
   */
  monitorNode(node: string): Effect.Effect<void>
  demonitorNode(node: string): Effect.Effect<void>
}
