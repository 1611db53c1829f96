/**
 * The record of one process and the small types around it: its status, what its current
 * handler is, and how it keeps monitors. The kernel, the scheduler loop, calls and
 * signals all read and write these fields directly.
 *
 * Hot path: a `Proc` is allocated per spawn, so fields that most processes never use
 * start as null and the constructor does nothing else.
 *
 * @internal
 */
import type { Fiber, Runtime } from "effect"
import { Effect, Exit } from "effect"
import type { Behaviour } from "../../Process/Behaviour.js"
import type { ExitReason } from "../../Process/ExitReason.js"
import type { From } from "../../Process/Message.js"
import type { Name, Pid, Reference } from "../../Process/Pid.js"
import type { AsyncTarget } from "../../Process/internal/runLoop.js"
import type { ProcessContext } from "./context.js"
import type { Kernel } from "./kernel.js"
import { Lane } from "./mailbox.js"
import type { Trace } from "./trace.js"

// Process status, in the order a process goes through them (`status >= EXITING` is "gone").
export const INIT = 0
export const IDLE = 1
export const SCHEDULED = 2
export const RUNNING = 3
export const WAITING = 4
/**
 * Suspended (`sys:suspend`, an upgrade): messages queue but the drain loop skips it, since it
 * is neither IDLE (so `enqueue` does not schedule it) nor SCHEDULED: no check on the hot path.
 */
export const SUSPENDED = 5
export const EXITING = 6
export const DEAD = 7

const statusNames = ["init", "idle", "scheduled", "running", "waiting", "suspended", "exiting", "dead"] as const

/** A status as `Node.info` shows it. */
export type StatusName = (typeof statusNames)[number]

/** The name of a process's status. */
export const statusName = (proc: Proc): StatusName => statusNames[proc.status]!

// What the current handler is.
export const K_INIT = 0
export const K_MESSAGE = 1
export const K_CALL = 2
export const K_INFO = 3
export const K_TERMINATE = 4

/** A monitor as the monitored process keeps it. */
export interface Watch {
  readonly ref: Reference
  readonly watcher: Proc | Pid
  readonly target: Pid | Name
}

/** A monitor as the watching process keeps it. */
export interface Watching {
  readonly ref: Reference
  readonly target: Proc | Pid | Name
  readonly remoteTarget: Pid | Name | undefined
}

/** A `node.send` waiting for room in a full mailbox: its message is enqueued when its turn comes. */
export interface Waiter {
  readonly message: unknown
  readonly resume: () => void
}

/** The key of a remote pid in a process's `links`. */
export const pidKey = (pid: Pid): string => `${pid.node}/${pid.id}/${pid.creation}`

/** A handler returned something else than an Effect: a bug in the behaviour, reported as its crash. */
export const notAnEffect = (behaviour: string, handler: string, value: unknown): Effect.Effect<never> =>
  Exit.die(
    new Error(
      `${behaviour}: ${handler} returned ${typeof value} instead of an Effect; wrap the new state: Effect.succeed(state)`
    )
  )

/** The record of one process. Fields that most processes never use start as null. */
export class Proc implements AsyncTarget {
  status = INIT
  state: unknown = undefined
  readonly main = new Lane()
  urgent: Lane | null = null
  system: Lane | null = null
  log: Lane | null = null
  links: Map<unknown, Proc | Pid> | null = null
  watchers: Map<number, Watch> | null = null
  watching: Map<number, Watching> | null = null
  /** How many calls wait on this process. */
  callers = 0
  /** How many calls this process waits on. */
  outstanding = 0
  /** Reply addresses of calls from other nodes not yet answered (see `calls.ts`). */
  remoteCallers: Set<From> | null = null
  timers: Map<number, () => void> | null = null
  aliases: Array<number> | null = null
  waiters: Array<Waiter> | null = null
  nodeWatches: Set<string> | null = null
  name: string | undefined = undefined
  trapExit = false
  /** Every `ctx.send` is an important one (spawn option `importantDelivery`). */
  important = false
  /** The process that spawned it linked (or the node, for `node.spawn`): its exit signal ends a trapping process. */
  parent: Pid | undefined = undefined
  mailboxSize: number
  messagesIn = 0
  messagesOut = 0
  /** The last messages it handled, while tracing is on (`Process.trace`); null (the default) when off. */
  trace: Trace | null = null
  readonly startedAt: number
  kind = K_INIT
  from: From | undefined = undefined
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined = undefined
  stopReason: ExitReason | undefined = undefined
  pendingExit: ExitReason | undefined = undefined
  idleTimeout: number | undefined = undefined
  cancelIdle: (() => void) | undefined = undefined
  initDone: ((exit: Exit.Exit<unknown, unknown>) => void) | undefined = undefined
  exitReason: ExitReason | undefined = undefined
  /** Suspend requests waiting for its current handler (or `init`) to return: called with true once suspended. */
  suspendWaiters: Array<(suspended: boolean) => void> | null = null
  /** The `ctx` of its handlers, set by `Kernel.spawn` right after construction. */
  ctx: ProcessContext = undefined as unknown as ProcessContext

  constructor(
    readonly kernel: Kernel,
    readonly id: number,
    readonly pid: Pid,
    /** Replaced by a code upgrade (`Code/internal/upgrade.ts`), while the process is suspended. */
    public behaviour: Behaviour<any, any, any, any, any, any>,
    readonly runtime: Runtime.Runtime<any>,
    mailboxSize: number
  ) {
    this.mailboxSize = mailboxSize
    this.startedAt = kernel.now()
  }

  mailboxLength(): number {
    return (
      this.main.length +
      (this.urgent === null ? 0 : this.urgent.length) +
      (this.system === null ? 0 : this.system.length) +
      (this.log === null ? 0 : this.log.length)
    )
  }

  /** A handler's fiber ended (see `runLoop.ts`). */
  resume(exit: Exit.Exit<unknown, unknown>, fiber: Fiber.RuntimeFiber<unknown, unknown>): void {
    if (this.fiber !== fiber) return
    this.fiber = undefined
    this.kernel.complete(this, exit, false)
  }

  wrap(effect: Effect.Effect<unknown, unknown, unknown>): Effect.Effect<unknown, unknown, unknown> {
    return Effect.annotateLogs(effect, this.annotations())
  }

  annotations(): Record<string, string> {
    const out: Record<string, string> = { pid: this.pid.toString(), node: this.kernel.name, behaviour: this.behaviour.name }
    if (this.name !== undefined) out["name"] = this.name
    return out
  }

  label(): string {
    return this.name === undefined ? this.pid.toString() : `${this.name} ${this.pid.toString()}`
  }
}
