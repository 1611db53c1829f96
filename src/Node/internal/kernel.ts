/**
 * The kernel of a node: the process table, names, the scheduler that drains mailboxes,
 * links, monitors, exit signals, calls and timers.
 *
 * A process is a plain object here. An idle process holds no fiber: when a message
 * arrives it is put on the run queue, and one drain loop takes each ready process and
 * runs its handlers one message at a time, synchronously when the handler's Effect is
 * synchronous (see `runLoop.ts`), on a fiber when it suspends (a `call`, a sleep, I/O).
 * While a handler's fiber runs, the process takes no other message, as a gen_server.
 *
 * @internal
 */
import type { Clock, Fiber, Scheduler } from "effect"
import { Cause, Duration, Effect, Exit, FiberId, Runtime } from "effect"
import type { Behaviour, CallResult, CallTimeout, Priority, SpawnOptions } from "../../Process/Behaviour.js"
import type { SendError, Timer } from "../../Process/Context.js"
import {
  AlreadyRegistered,
  CallNotHandled,
  InitFailed,
  MailboxFull,
  NameTaken,
  NoConnection,
  NodeStopped,
  ProcessExited,
  ProcessUnknown,
  Timeout,
  TooManyProcesses
} from "../../Process/errors.js"
import * as Reason from "../../Process/ExitReason.js"
import type { ExitReason } from "../../Process/ExitReason.js"
import { Down, Exit as ExitMessage, From, IdleTimeout as TimeoutMessage, NodeDown, NodeUp } from "../../Process/Message.js"
import { Alias, Name, Pid, Reference, unsafeMake } from "../../Process/Pid.js"
import type { Address } from "../../Process/Pid.js"
import type { AsyncTarget } from "../../Process/internal/runLoop.js"
import { isExit, runEffect } from "../../Process/internal/runLoop.js"
import { ProcessContext } from "./context.js"
import { CallEnvelope, Lane } from "./mailbox.js"
import { ClockTimers } from "./timers.js"
import type { Remote } from "./remote.js"

// Process status.
export const INIT = 0
export const IDLE = 1
export const SCHEDULED = 2
export const RUNNING = 3
export const WAITING = 4
export const EXITING = 5
export const DEAD = 6

const statusNames = ["init", "idle", "scheduled", "running", "waiting", "exiting", "dead"] as const
export type StatusName = (typeof statusNames)[number]

// What the current handler is.
const K_INIT = 0
const K_MESSAGE = 1
const K_CALL = 2
const K_INFO = 3
const K_TERMINATE = 4

/** A call awaiting its reply. */
interface PendingCall {
  readonly resume: (effect: Effect.Effect<any, any>) => void
  readonly targetLabel: string
  target: Proc | undefined
  caller: Proc | undefined
  /** The node of a remote callee, so that losing that node fails the call. */
  remoteNode: string | undefined
  cancelTimer: (() => void) | undefined
}

/** A monitor as the monitored process keeps it. */
interface Watch {
  readonly ref: Reference
  readonly watcher: Proc | Pid
  readonly target: Pid | Name
}

/** A monitor as the watching process keeps it. */
interface Watching {
  readonly ref: Reference
  readonly target: Proc | Pid | Name
  readonly remoteTarget: Pid | Name | undefined
}

/** A handler returned something else than an Effect: a bug in the behaviour, reported as its crash. */
const notAnEffect = (behaviour: string, handler: string, value: unknown): Effect.Effect<never> =>
  Exit.die(
    new Error(
      `${behaviour}: ${handler} returned ${typeof value} instead of an Effect; wrap the new state: Effect.succeed(state)`
    )
  )

/**
 * Builds an error of a call that fails at once without a stack trace (it would only show
 * the kernel) or Schema validation: a caller retrying in a loop (waiting for a supervisor
 * to restart a process) spends its time here, and the restart waits for it.
 */
const quickError = <E>(make: () => E): E => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return make()
  } finally {
    Error.stackTraceLimit = limit
  }
}

/** A reply address without the Schema constructor: call is a hot path. */
export const makeFrom = (to: Pid | Alias, ref: Reference): From => {
  const from = Object.create(From.prototype)
  from.to = to
  from.ref = ref
  return from
}

const pidKey = (pid: Pid): string => `${pid.node}/${pid.id}/${pid.creation}`

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
  timers: Map<number, () => void> | null = null
  aliases: Array<number> | null = null
  waiters: Array<() => void> | null = null
  nodeWatches: Set<string> | null = null
  name: string | undefined = undefined
  trapExit = false
  mailboxSize: number
  messagesIn = 0
  messagesOut = 0
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
  ctx: ProcessContext

  constructor(
    readonly kernel: Kernel,
    readonly id: number,
    readonly pid: Pid,
    readonly behaviour: Behaviour<any, any, any, any, any, any>,
    readonly runtime: Runtime.Runtime<any>,
    mailboxSize: number
  ) {
    this.mailboxSize = mailboxSize
    this.startedAt = kernel.now()
    this.ctx = new ProcessContext(this)
  }

  mailboxLength(): number {
    return (
      this.main.length +
      (this.urgent === null ? 0 : this.urgent.length) +
      (this.system === null ? 0 : this.system.length) +
      (this.log === null ? 0 : this.log.length)
    )
  }

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
    if (this.name !== undefined) out.name = this.name
    return out
  }

  label(): string {
    return this.name === undefined ? this.pid.toString() : `${this.name} ${this.pid.toString()}`
  }
}

/**
 * An Effect `Scheduler` whose tasks run inside the kernel's drain loop.
 *
 * @internal
 */
export class KernelScheduler implements Scheduler.Scheduler {
  private tasks: Array<Scheduler.Task> = []
  private spare: Array<Scheduler.Task> = []
  constructor(private readonly wake: () => void) {}

  get size(): number {
    return this.tasks.length
  }

  shouldYield(fiber: Fiber.RuntimeFiber<unknown, unknown>): number | false {
    return fiber.currentOpCount > 2048 ? 0 : false
  }

  scheduleTask(task: Scheduler.Task): void {
    this.tasks.push(task)
    if (this.tasks.length === 1) this.wake()
  }

  /** Runs the tasks queued so far (not those they queue); returns how many ran. */
  run(): number {
    const batch = this.tasks
    this.tasks = this.spare
    for (let i = 0; i < batch.length; i++) batch[i]!()
    const n = batch.length
    batch.length = 0
    this.spare = batch
    return n
  }
}

/** Options the kernel needs. */
export interface KernelOptions {
  readonly scheduler: KernelScheduler
  readonly name: string
  readonly creation: number
  readonly mailboxSize: number | undefined
  readonly maxProcesses: number
  readonly defaultCallTimeout: CallTimeout
  readonly spawnTimeout: CallTimeout
  readonly runtime: Runtime.Runtime<any>
  readonly liveClock: boolean
  readonly clock: Clock.Clock
}

let lastTimeout: CallTimeout | undefined
let lastMillis = 0
/** Timeout in milliseconds; remembers the last input, since a program uses few distinct timeouts. */
const toMillis = (timeout: CallTimeout): number => {
  if (timeout === lastTimeout) return lastMillis
  const millis = timeout === "infinity" ? Infinity : Duration.toMillis(Duration.decode(timeout))
  lastTimeout = timeout
  lastMillis = millis
  return millis
}

/** Live kernels by `node/creation`, so that code holding only a pid (a process context) finds its node. */
export const kernels = new Map<string, Kernel>()

/** @internal */
export class Kernel {
  readonly name: string
  readonly creation: number
  readonly procs = new Map<number, Proc>()
  readonly names = new Map<string, Proc>()
  readonly aliases = new Map<number, Proc>()
  readonly pending = new Map<number, PendingCall>()
  readonly nodeWatchers = new Map<string, Set<Proc>>()
  readonly exitListeners = new Set<(proc: Proc, reason: ExitReason) => void>()
  remote: Remote | undefined = undefined
  /** Run (newest first) when the node stops, before its processes are shut down: applications stop here. */
  readonly beforeShutdown: Array<() => Effect.Effect<void>> = []
  /** Per-node data of other modules (applications), keyed by module. */
  readonly extensions = new Map<string, unknown>()
  stopped = false
  nextId = 1
  nextRef = 1
  totalIn = 0
  totalOut = 0
  readonly startedAt: number
  /** Link exit signals waiting for delivery, three slots each: target, from, reason. */
  private readonly signals: Array<any> = []
  private signalHead = 0
  private readonly runQueue: Array<Proc> = []
  private runHead = 0
  private drainScheduled = false
  private draining = false
  private readonly clock: () => number

  constructor(readonly options: KernelOptions) {
    this.name = options.name
    this.scheduler = options.scheduler
    this.clockTimers = new ClockTimers(options.clock, options.runtime)
    this.creation = options.creation
    this.clock = () => Date.now()
    this.startedAt = this.now()
    kernels.set(`${this.name}/${this.creation}`, this)
  }

  now(): number {
    return this.clock()
  }

  makeRef(): Reference {
    return unsafeMake(Reference, this.name, this.nextRef++, this.creation)
  }

  // ---------------------------------------------------------------------------
  // Addressing

  /** The live local process at an address, or undefined (dead, unknown, stale or remote). */
  lookup(to: Address<any, any>): Proc | undefined {
    if (typeof to === "string") return this.names.get(to)
    if (to instanceof Pid) {
      if (to.node !== this.name || to.creation !== this.creation) return undefined
      return this.procs.get(to.id)
    }
    if (to instanceof Name) return to.node === this.name ? this.names.get(to.name) : undefined
    if (to instanceof Alias) {
      if (to.node !== this.name || to.creation !== this.creation) return undefined
      return this.aliases.get(to.id)
    }
    return undefined
  }

  private isRemote(to: Address<any, any>): to is Pid | Name | Alias {
    return typeof to !== "string" && to.node !== this.name
  }

  // ---------------------------------------------------------------------------
  // Scheduling

  /** Puts a process on the run queue. Hot path. */
  schedule(proc: Proc): void {
    proc.status = SCHEDULED
    this.runQueue.push(proc)
    if (!this.drainScheduled && !this.draining) {
      this.drainScheduled = true
      queueMicrotask(this.drain)
    }
  }

  private readonly clockTimers: ClockTimers
  /** The Scheduler of every fiber the node runs (handlers that suspend, timers). */
  readonly scheduler: KernelScheduler

  /**
   * Drains the run queue: each ready process handles up to a batch of messages per
   * turn; fiber tasks of handlers that suspended (a `call` waiting for its reply) run in
   * the same loop through the kernel's Scheduler, so a reply resumes its caller without
   * a macrotask hop. Hot path.
   */
  private readonly drain = (): void => {
    this.drainScheduled = false
    if (this.draining) return
    this.draining = true
    const started = performance.now()
    let handled = 0
    const tasks = this.scheduler
    try {
      const queue = this.runQueue
      for (;;) {
        // Time budget, checked every few hundred messages or after any fiber tasks
        // (a task may run 2048 Effect operations).
        if (handled > 256) {
          handled = 0
          if (performance.now() - started > 20) {
            // Let timers and I/O in; resume on the next macrotask.
            this.drainScheduled = true
            setImmediate(this.drain)
            return
          }
        }
        if (tasks.size > 0) handled += 64 * tasks.run()
        if (this.signalHead < this.signals.length) handled += this.deliverSignals()
        if (this.runHead >= queue.length) {
          if (tasks.size > 0 || this.signalHead < this.signals.length) continue
          break
        }
        const proc = queue[this.runHead]!
        queue[this.runHead++] = undefined as any
        if (this.runHead > 1024 && this.runHead * 2 > queue.length) {
          queue.splice(0, this.runHead)
          this.runHead = 0
        }
        if (proc.status !== SCHEDULED) continue
        let budget = 128
        while (budget-- > 0) {
          if (!this.step(proc)) break
          handled++
        }
        if (proc.status === SCHEDULED) {
          // Still has messages: back of the queue, so that others get their turn.
          queue.push(proc)
        }
      }
      queue.length = 0
      this.runHead = 0
    } finally {
      this.draining = false
    }
  }

  /** Delivers the queued link exit signals (and those they cause) in order. */
  private deliverSignals(): number {
    const signals = this.signals
    let n = 0
    while (this.signalHead < signals.length) {
      const i = this.signalHead
      this.signalHead += 3
      const target = signals[i] as Proc
      const from = signals[i + 1] as Pid
      const reason = signals[i + 2] as ExitReason
      signals[i] = signals[i + 1] = signals[i + 2] = undefined
      this.exitSignal(target, from, reason, true)
      n++
    }
    signals.length = 0
    this.signalHead = 0
    return n
  }

  /** Makes sure a drain runs soon. */
  readonly wake = (): void => {
    if (!this.drainScheduled && !this.draining) {
      this.drainScheduled = true
      queueMicrotask(this.drain)
    }
  }

  /** Takes the next message of a scheduled process and handles it. False when it has none or is no longer ready. */
  private step(proc: Proc): boolean {
    let lane: Lane | null = proc.urgent
    let system = false
    if (lane === null || lane.length === 0) {
      lane = proc.system
      system = true
      if (lane === null || lane.length === 0) {
        lane = proc.main
        system = false
        if (lane.length === 0) {
          lane = proc.log
          if (lane === null || lane.length === 0) {
            proc.status = IDLE
            this.armIdleTimeout(proc)
            return false
          }
        }
      }
    }
    const message = lane.shift()
    if (lane === proc.main && proc.waiters !== null) this.wakeWaiters(proc)
    this.handle(proc, message, system)
    return proc.status === SCHEDULED
  }

  private wakeWaiters(proc: Proc): void {
    const waiters = proc.waiters!
    while (waiters.length > 0 && proc.main.length < proc.mailboxSize) waiters.shift()!()
    if (waiters.length === 0) proc.waiters = null
  }

  /** Runs the handler for one message. Hot path. */
  private handle(proc: Proc, message: unknown, system: boolean): void {
    const b = proc.behaviour
    if (proc.cancelIdle !== undefined) {
      proc.cancelIdle()
      proc.cancelIdle = undefined
    }
    proc.messagesIn++
    this.totalIn++
    let effect: Effect.Effect<unknown, unknown, unknown>
    proc.status = RUNNING
    try {
      if (system) {
        if (b.handleInfo === undefined) {
          proc.status = SCHEDULED
          return
        }
        proc.kind = K_INFO
        effect = b.handleInfo(message as any, proc.state, proc.ctx)
      } else if (message instanceof CallEnvelope) {
        if (b.handleCall === undefined) {
          this.replyTo(message.from, Exit.fail(new CallNotHandled({ target: proc.label(), behaviour: b.name })))
          proc.status = SCHEDULED
          return
        }
        proc.kind = K_CALL
        proc.from = message.from
        effect = b.handleCall(message.request, message.from, proc.state, proc.ctx)
      } else {
        if (b.handleMessage === undefined) {
          proc.status = SCHEDULED
          return
        }
        proc.kind = K_MESSAGE
        effect = b.handleMessage(message, proc.state, proc.ctx)
      }
    } catch (defect) {
      effect = Exit.die(defect)
    }
    if (!Effect.isEffect(effect)) effect = notAnEffect(b.name, "handler", effect)
    const result = runEffect(effect, proc.runtime, proc)
    if (isExit(result)) {
      this.complete(proc, result, true)
    } else {
      proc.fiber = result as Fiber.RuntimeFiber<unknown, unknown>
      if (proc.status === RUNNING) proc.status = WAITING
    }
  }

  /** A handler finished (synchronously when `inDrain`, or from its fiber). */
  complete(proc: Proc, exit: Exit.Exit<unknown, unknown>, inDrain: boolean): void {
    const kind = proc.kind
    if (kind === K_TERMINATE) {
      this.finalize(proc, proc.exitReason!)
      return
    }
    if (kind === K_INIT) {
      this.completeInit(proc, exit)
      return
    }
    if (proc.status >= EXITING) return
    if (exit._tag === "Failure") {
      proc.status = WAITING
      this.exitProcess(proc, Cause.isInterruptedOnly(exit.cause) ? Reason.killed : Reason.fromCause(exit.cause))
      return
    }
    if (kind === K_CALL) {
      const result = exit.value as CallResult<unknown>
      const from = proc.from!
      proc.from = undefined
      if (result === undefined || result === null || typeof result !== "object" || !("_tag" in result)) {
        proc.status = WAITING
        this.exitProcess(
          proc,
          Reason.fromCause(Cause.die(new Error(`${proc.behaviour.name}.handleCall must return Process.reply, replyError or noReply`)))
        )
        return
      }
      proc.state = result.state
      if (result._tag === "Reply") this.replyTo(from, Exit.succeed(result.value))
      else if (result._tag === "ReplyError") this.replyTo(from, Exit.fail(result.error))
    } else {
      proc.state = exit.value
    }
    this.afterHandler(proc, inDrain)
  }

  private afterHandler(proc: Proc, inDrain: boolean): void {
    if (proc.stopReason !== undefined || proc.pendingExit !== undefined) {
      const reason = proc.pendingExit ?? proc.stopReason!
      proc.status = WAITING
      this.exitProcess(proc, reason)
      return
    }
    if (inDrain) {
      proc.status = SCHEDULED
    } else if (proc.mailboxLength() > 0) {
      this.schedule(proc)
    } else {
      proc.status = IDLE
      this.armIdleTimeout(proc)
    }
  }

  private armIdleTimeout(proc: Proc): void {
    if (proc.idleTimeout === undefined) return
    const after = proc.idleTimeout
    proc.idleTimeout = undefined
    proc.cancelIdle = this.startTimer(after, () => {
      proc.cancelIdle = undefined
      this.enqueueSystem(proc, new TimeoutMessage({}, true))
    })
  }

  // ---------------------------------------------------------------------------
  // Spawning

  /**
   * Creates a process and runs its `init`. `done` is called with the pid or the error,
   * synchronously when `init` is synchronous.
   */
  spawn(
    behaviour: Behaviour<any, any, any, any, any, any>,
    args: unknown,
    options: SpawnOptions | undefined,
    runtime: Runtime.Runtime<any>,
    link: Proc | undefined,
    monitor: Proc | undefined,
    done: (exit: Exit.Exit<Pid, unknown>, ref?: Reference) => void
  ): void {
    if (this.stopped) return done(Exit.fail(new NodeStopped({ node: this.name })))
    if (this.procs.size >= this.options.maxProcesses) {
      return done(Exit.fail(new TooManyProcesses({ node: this.name, limit: this.options.maxProcesses })))
    }
    const name = options?.name
    if (name !== undefined) {
      const owner = this.names.get(name)
      if (owner !== undefined) return done(Exit.fail(new NameTaken({ name, owner: owner.pid.toString() })))
    }
    const id = this.nextId++
    const pid = unsafeMake(Pid, this.name, id, this.creation)
    const mailboxSize = options?.mailboxSize ?? behaviour.options?.mailboxSize ?? this.options.mailboxSize ?? Infinity
    const proc = new Proc(this, id, pid, behaviour, runtime, mailboxSize)
    if (options?.trapExit ?? behaviour.options?.trapExit) proc.trapExit = true
    this.procs.set(id, proc)
    if (name !== undefined) {
      proc.name = name
      this.names.set(name, proc)
    }
    proc.initDone = (exit) => {
      if (exit._tag === "Success") {
        let ref: Reference | undefined
        if (link !== undefined && link.status < EXITING) this.linkProcs(link, proc)
        if (monitor !== undefined && monitor.status < EXITING) ref = this.monitorLocal(monitor, proc, pid)
        done(Exit.succeed(pid), ref)
      } else {
        done(exit as Exit.Exit<never, unknown>)
      }
    }
    proc.kind = K_INIT
    proc.status = RUNNING
    let effect: Effect.Effect<unknown, unknown, unknown>
    try {
      effect = behaviour.init(args, proc.ctx)
    } catch (defect) {
      effect = Exit.die(defect)
    }
    if (!Effect.isEffect(effect)) effect = notAnEffect(behaviour.name, "init", effect)
    const result = runEffect(effect, runtime, proc)
    if (isExit(result)) this.completeInit(proc, result)
    else {
      proc.fiber = result as Fiber.RuntimeFiber<unknown, unknown>
      proc.status = INIT
      const millis = toMillis(this.options.spawnTimeout)
      if (millis !== Infinity) {
        const cancel = this.startTimer(millis, () => {
          if (proc.kind === K_INIT && proc.status < EXITING) {
            this.exitProcess(proc, Reason.error(`init did not finish within ${millis}ms (spawnTimeout)`), true)
          }
        })
        const done = proc.initDone!
        proc.initDone = (exit) => {
          cancel()
          done(exit)
        }
      }
    }
  }

  private completeInit(proc: Proc, exit: Exit.Exit<unknown, unknown>): void {
    const done = proc.initDone!
    proc.initDone = undefined
    if (proc.status >= EXITING) {
      done(Exit.fail(new InitFailed({ behaviour: proc.behaviour.name, reason: proc.exitReason ?? Reason.killed })))
      return
    }
    if (exit._tag === "Failure" || proc.stopReason !== undefined || proc.pendingExit !== undefined) {
      const reason =
        exit._tag === "Failure"
          ? Cause.isInterruptedOnly(exit.cause) ? Reason.killed : Reason.fromCause(exit.cause)
          : (proc.pendingExit ?? proc.stopReason!)
      proc.status = EXITING
      proc.exitReason = reason
      this.finalize(proc, reason)
      done(Exit.fail(new InitFailed({ behaviour: proc.behaviour.name, reason })))
      return
    }
    proc.state = exit.value
    proc.kind = K_MESSAGE
    done(exit)
    if (proc.status >= EXITING) return
    if (proc.mailboxLength() > 0) this.schedule(proc)
    else {
      proc.status = IDLE
      this.armIdleTimeout(proc)
    }
  }

  // ---------------------------------------------------------------------------
  // Sending

  /** Enqueues a plain message. Hot path. Returns an error for the sender, or undefined. */
  send(from: Proc | undefined, to: Address<any, any>, message: unknown, priority: Priority = "normal"): SendError | undefined {
    if (from !== undefined) {
      from.messagesOut++
      this.totalOut++
    }
    const proc = this.lookup(to)
    if (proc === undefined) {
      if (this.isRemote(to)) return this.sendRemote(from, to, message, priority)
      return undefined
    }
    return this.enqueue(proc, message, priority)
  }

  private sendRemote(from: Proc | undefined, to: Pid | Name | Alias, message: unknown, priority: Priority): SendError | undefined {
    if (this.remote === undefined) return undefined
    return this.remote.send(from?.pid, to, message, priority) as SendError | undefined
  }

  /** Hot path. */
  enqueue(proc: Proc, message: unknown, priority: Priority): SendError | undefined {
    if (proc.status >= EXITING) return undefined
    if (priority === "normal") {
      if (proc.main.length >= proc.mailboxSize) {
        return new MailboxFull({ target: proc.label(), size: proc.mailboxSize })
      }
      proc.main.push(message)
    } else if (priority === "urgent") {
      ;(proc.urgent ??= new Lane()).push(message)
    } else {
      ;(proc.log ??= new Lane()).push(message)
    }
    if (proc.status === IDLE) this.schedule(proc)
    return undefined
  }

  enqueueSystem(proc: Proc, message: unknown): void {
    if (proc.status >= EXITING) return
    ;(proc.system ??= new Lane()).push(message)
    if (proc.status === IDLE) this.schedule(proc)
  }

  /** `send` that waits for room in a bounded mailbox instead of failing (the Effect-level API). */
  /**
   * After a send to another node whose connection is backed up, waits until it drains:
   * Erlang suspends a process that sends to a busy distribution port. Undefined (no wait)
   * in every other case.
   */
  remoteBackpressure(to: Address<any, any>): Effect.Effect<void> | undefined {
    if (typeof to === "string" || to.node === this.name) return undefined
    const remote = this.remote
    if (remote === undefined || !remote.busy(to.node)) return undefined
    return Effect.async<void>((resume) => remote.whenReady(to.node, () => resume(Effect.void)))
  }

  sendWait(to: Address<any, any>, message: unknown, priority: Priority): Effect.Effect<void, SendError> {
    return Effect.suspend(() => {
      const error = this.send(undefined, to, message, priority)
      if (error === undefined) return this.remoteBackpressure(to) ?? Effect.void
      if (error._tag !== "MailboxFull") return Effect.fail(error)
      const proc = this.lookup(to)!
      return Effect.async<void>((resume) => {
        const waiter = () => resume(Effect.void)
        ;(proc.waiters ??= []).push(waiter)
        return Effect.sync(() => {
          const i = proc.waiters?.indexOf(waiter) ?? -1
          if (i >= 0) proc.waiters!.splice(i, 1)
        })
      }).pipe(Effect.zipRight(this.sendWait(to, message, priority)))
    })
  }

  // ---------------------------------------------------------------------------
  // Calls

  /** Calls a process and waits for the reply. */
  /**
   * Calls a process and waits for the reply. Failures known at once (no such process,
   * full mailbox, no distribution) are plain `Effect.fail`s rather than an async resumed
   * on the spot: Effect resets its yield counter at each async boundary, so a retry loop
   * over synchronously resumed asyncs would never yield to other processes.
   */
  call(from: Proc | undefined, to: Address<any, any>, request: unknown, timeout: CallTimeout | undefined): Effect.Effect<any, any> {
    return Effect.suspend(() => {
      if (from !== undefined) {
        from.messagesOut++
        this.totalOut++
      }
      const proc = this.lookup(to)
      if (proc === undefined || proc.status >= EXITING) {
        if (proc !== undefined || !this.isRemote(to)) {
          return Effect.fail(quickError(() => new ProcessUnknown({ target: typeof to === "string" ? to : to.toString() }, true)))
        }
        if (this.remote === undefined) {
          return Effect.fail(new NoConnection({ node: (to as Pid).node, reason: "distribution is not started" }))
        }
      } else if (proc.main.length >= proc.mailboxSize) {
        return Effect.fail(quickError(() => new MailboxFull({ target: proc.label(), size: proc.mailboxSize }, true)))
      }
      return this.awaitReply(from, to, proc, request, timeout)
    })
  }

  /** Hot path of `call`: registers the pending call, enqueues the request, waits. */
  private awaitReply(
    from: Proc | undefined,
    to: Address<any, any>,
    proc: Proc | undefined,
    request: unknown,
    timeout: CallTimeout | undefined
  ): Effect.Effect<any, any> {
    return Effect.async<any, any>((resume) => {
      const ref = this.makeRef()
      const label = typeof to === "string" ? to : to.toString()
      const entry: PendingCall = {
        resume,
        targetLabel: label,
        target: undefined,
        caller: undefined,
        remoteNode: undefined,
        cancelTimer: undefined
      }
      const replyTo = from === undefined ? unsafeMake(Alias, this.name, ref.id, this.creation) : from.pid
      this.pending.set(ref.id, entry)
      if (proc === undefined) {
        entry.remoteNode = (to as Pid | Name).node
        const error = this.remote!.call(replyTo, to as Pid | Name, ref, request)
        if (error !== undefined) {
          this.pending.delete(ref.id)
          return resume(Effect.fail(error))
        }
      } else {
        entry.target = proc
        proc.callers++
        this.enqueue(proc, new CallEnvelope(request, makeFrom(replyTo, ref)), "normal")
      }
      const millis = toMillis(timeout ?? this.options.defaultCallTimeout)
      if (millis !== Infinity) {
        entry.cancelTimer = this.startTimer(millis, () => {
          entry.cancelTimer = undefined
          if (this.forget(ref.id)) resume(Effect.fail(new Timeout({ target: label, millis })))
        })
      }
      // No canceler when something else cleans up: Effect wraps an async that has a
      // canceler in onInterrupt, which costs 4-5x per call. The kernel drops a process's
      // outstanding calls when it exits, and a timeout drops its own entry; a late
      // resume of an interrupted fiber is ignored by Effect.
      if (from !== undefined) {
        entry.caller = from
        from.outstanding++
        return undefined
      }
      if (millis !== Infinity) return undefined
      return Effect.sync(() => {
        this.forget(ref.id)
      })
    })
  }

  /** Drops a pending call (timeout, interruption, reply); true if it was still pending. */
  private forget(refId: number): boolean {
    const entry = this.pending.get(refId)
    if (entry === undefined) return false
    this.pending.delete(refId)
    if (entry.target !== undefined) entry.target.callers--
    if (entry.caller !== undefined) entry.caller.outstanding--
    if (entry.cancelTimer !== undefined) entry.cancelTimer()
    return true
  }

  /** Routes a reply; a reply nobody waits for any more is dropped. */
  replyTo(from: From, exit: Exit.Exit<unknown, unknown>): void {
    if (from.ref.node !== this.name) {
      this.remote?.reply(from.ref, exit)
      return
    }
    this.completeCall(from.ref, exit)
  }

  /** Completes a local pending call (also used by distribution for remote replies). */
  completeCall(ref: Reference, exit: Exit.Exit<unknown, unknown>): void {
    if (ref.creation !== this.creation) return
    const entry = this.pending.get(ref.id)
    if (entry === undefined) return
    this.forget(ref.id)
    entry.resume(exit)
  }

  // ---------------------------------------------------------------------------
  // Timers: Clock time, so that TestClock drives them in tests.

  /** Runs `task` after `millis`; returns a cancel function. */
  startTimer(millis: number, task: () => void): () => void {
    if (this.options.liveClock) {
      const handle = setTimeout(task, millis)
      return () => clearTimeout(handle)
    }
    return this.clockTimers.start(millis, task)
  }

  sendAfter(owner: Proc | undefined, to: Address<any, any>, message: unknown, delay: Duration.DurationInput): Timer {
    const ref = this.makeRef()
    const target = this.lookup(to)
    let fired = false
    let cancelled = false
    const cancelFn = this.startTimer(Duration.toMillis(Duration.decode(delay)), () => {
      fired = true
      target?.timers?.delete(ref.id)
      if (target !== undefined) this.enqueue(target, message, "normal")
      else this.send(owner, to, message)
    })
    // As in Erlang, a timer to a local pid dies with that process.
    if (target !== undefined) (target.timers ??= new Map()).set(ref.id, cancelFn)
    const cancel = Effect.sync(() => {
      if (fired || cancelled) return false
      cancelled = true
      target?.timers?.delete(ref.id)
      cancelFn()
      return true
    })
    return { ref, cancel }
  }

  // ---------------------------------------------------------------------------
  // Links

  linkProcs(a: Proc, b: Proc): void {
    ;(a.links ??= new Map()).set(b, b)
    ;(b.links ??= new Map()).set(a, a)
  }

  link(self: Proc, pid: Pid): void {
    if (pid.node === this.name && pid.id === self.id && pid.creation === this.creation) return
    const other = this.lookup(pid)
    if (other !== undefined && other.status < EXITING) return this.linkProcs(self, other)
    if (pid.node !== this.name) {
      ;(self.links ??= new Map()).set(pidKey(pid), pid)
      if (this.remote === undefined) this.exitSignal(self, pid, Reason.noconnection, true)
      else this.remote.link(self.pid, pid)
      return
    }
    // Linking to a dead local process: an exit signal noproc, as in Erlang.
    this.exitSignal(self, pid, Reason.noproc, true)
  }

  unlink(self: Proc, pid: Pid): void {
    const other = this.lookup(pid)
    if (other !== undefined) {
      self.links?.delete(other)
      other.links?.delete(self)
      return
    }
    if (pid.node !== this.name && self.links?.delete(pidKey(pid))) this.remote?.unlink(self.pid, pid)
  }

  /** A remote process linked to a local one (called by distribution). */
  remoteLink(remote: Pid, local: Pid): boolean {
    const proc = this.lookup(local)
    if (proc === undefined || proc.status >= EXITING) return false
    ;(proc.links ??= new Map()).set(pidKey(remote), remote)
    return true
  }

  remoteUnlink(remote: Pid, local: Pid): void {
    this.lookup(local)?.links?.delete(pidKey(remote))
  }

  // ---------------------------------------------------------------------------
  // Exit signals

  /** Delivers an exit signal to `target` from `from`. */
  exitSignal(target: Proc, from: Pid, reason: ExitReason, viaLink: boolean): void {
    if (target.status === DEAD) return
    if (viaLink && target.links !== null) {
      const local = this.lookup(from)
      target.links.delete(local ?? pidKey(from))
    }
    if (reason._tag === "kill" && !viaLink) {
      this.exitProcess(target, Reason.killed, true)
      return
    }
    if (target.status === EXITING) return
    if (target.trapExit) {
      this.enqueueSystem(target, new ExitMessage({ from, reason }, true))
      return
    }
    if (reason._tag === "normal") {
      if (!viaLink && from.id === target.id && from.node === this.name && from.creation === this.creation) {
        this.exitProcess(target, reason)
      }
      return
    }
    this.exitProcess(target, reason)
  }

  /** An exit signal to any pid (from `exit/2`). */
  exit(from: Proc | undefined, to: Pid, reason: ExitReason): void {
    const fromPid = from?.pid ?? new Pid({ node: this.name, id: 0, creation: this.creation }, true)
    const target = this.lookup(to)
    if (target !== undefined) return this.exitSignal(target, fromPid, reason, false)
    if (to.node !== this.name) this.remote?.exit(fromPid, to, reason, false)
  }

  /** An exit signal that arrived from another node (called by distribution). */
  remoteExitSignal(from: Pid, to: Pid, reason: ExitReason, viaLink: boolean): void {
    const target = this.lookup(to)
    if (target === undefined) return
    if (viaLink && !target.links?.has(pidKey(from))) return
    this.exitSignal(target, from, reason, viaLink)
  }

  /**
   * Ends a process. Runs `terminate` (not for `killed`), then releases everything it
   * held and tells its links and monitors. `force` is for `kill`, which also cuts a
   * running `terminate` short.
   */
  exitProcess(proc: Proc, reason: ExitReason, force = false): void {
    if (proc.status === DEAD) return
    if (proc.status === EXITING) {
      if (force && proc.kind === K_TERMINATE) {
        const fiber = proc.fiber
        proc.fiber = undefined
        if (fiber !== undefined) fiber.unsafeInterruptAsFork(FiberId.none)
        this.finalize(proc, Reason.killed)
      }
      return
    }
    if (proc.status === RUNNING && !force) {
      // Inside its own handler right now: end it when the handler returns.
      proc.pendingExit ??= reason
      return
    }
    const wasInit = proc.kind === K_INIT
    proc.status = EXITING
    proc.exitReason = reason
    const fiber = proc.fiber
    proc.fiber = undefined
    if (fiber !== undefined) fiber.unsafeInterruptAsFork(FiberId.none)
    if (wasInit) {
      // Killed during init: the spawner learns it through InitFailed.
      this.finalize(proc, reason)
      if (proc.initDone !== undefined) this.completeInit(proc, Exit.void)
      return
    }
    const terminate = proc.behaviour.terminate
    if (terminate !== undefined && reason._tag !== "killed") {
      proc.kind = K_TERMINATE
      let effect: Effect.Effect<unknown, unknown, unknown>
      try {
        effect = terminate(reason, proc.state, proc.ctx)
      } catch (defect) {
        effect = Exit.die(defect)
      }
      if (!Effect.isEffect(effect)) effect = notAnEffect(proc.behaviour.name, "terminate", effect)
      const result = runEffect(effect, proc.runtime, proc)
      if (isExit(result)) this.finalize(proc, reason)
      else proc.fiber = result as Fiber.RuntimeFiber<unknown, unknown>
      return
    }
    this.finalize(proc, reason)
  }

  /** Releases a dead process's resources and fires its links and monitors. */
  private finalize(proc: Proc, reason: ExitReason): void {
    if (proc.status === DEAD) return
    proc.status = DEAD
    proc.exitReason = reason
    this.procs.delete(proc.id)
    if (proc.name !== undefined && this.names.get(proc.name) === proc) this.names.delete(proc.name)
    if (proc.aliases !== null) for (const id of proc.aliases) this.aliases.delete(id)
    if (proc.cancelIdle !== undefined) proc.cancelIdle()
    if (proc.timers !== null) for (const cancel of proc.timers.values()) cancel()
    if (proc.nodeWatches !== null) for (const node of proc.nodeWatches) this.nodeWatchers.get(node)?.delete(proc)
    proc.main.clear()
    proc.urgent = proc.system = proc.log = null
    if (proc.waiters !== null) for (const waiter of proc.waiters) waiter()
    if (proc.outstanding > 0) {
      for (const [refId, entry] of Array.from(this.pending)) if (entry.caller === proc) this.forget(refId)
    }
    if (proc.callers > 0) {
      // Calls still waiting on this process fail now rather than at their timeout.
      const label = proc.label()
      for (const [refId, entry] of Array.from(this.pending)) {
        if (entry.target === proc) {
          this.forget(refId)
          entry.resume(Effect.fail(new ProcessExited({ target: label, reason })))
        }
      }
    }
    if (proc.watching !== null) {
      for (const w of proc.watching.values()) {
        if (w.target instanceof Proc) w.target.watchers?.delete(w.ref.id)
        else this.remote?.demonitor(proc.pid, w.remoteTarget!, w.ref)
      }
    }
    if (proc.links !== null) {
      for (const other of proc.links.values()) {
        if (other instanceof Proc) {
          other.links?.delete(proc)
          // Asynchronous, as in Erlang, and so that a long chain of links cannot overflow the stack.
          this.signals.push(other, proc.pid, reason)
          this.wake()
        } else {
          this.remote?.exit(proc.pid, other, reason, true)
        }
      }
    }
    if (proc.watchers !== null) {
      for (const w of proc.watchers.values()) {
        if (w.watcher instanceof Proc) {
          w.watcher.watching?.delete(w.ref.id)
          this.enqueueSystem(w.watcher, new Down({ ref: w.ref, target: w.target, reason }, true))
        } else {
          this.remote?.down(w.watcher, w.ref, w.target, reason)
        }
      }
    }
    proc.links = proc.watchers = proc.watching = proc.timers = null
    proc.aliases = proc.waiters = null
    proc.nodeWatches = null
    proc.state = undefined
    for (const listener of this.exitListeners) listener(proc, reason)
  }

  // ---------------------------------------------------------------------------
  // Monitors

  monitorLocal(watcher: Proc, target: Proc, as: Pid | Name): Reference {
    const ref = this.makeRef()
    ;(target.watchers ??= new Map()).set(ref.id, { ref, watcher, target: as })
    ;(watcher.watching ??= new Map()).set(ref.id, { ref, target, remoteTarget: undefined })
    return ref
  }

  monitor(watcher: Proc, target: Pid | Name | string): Reference {
    const as: Pid | Name = typeof target === "string" ? new Name({ name: target, node: this.name }, true) : target
    const proc = this.lookup(target)
    if (proc !== undefined && proc.status < EXITING) return this.monitorLocal(watcher, proc, as)
    const ref = this.makeRef()
    if (as.node !== this.name) {
      if (this.remote === undefined) {
        this.enqueueSystem(watcher, new Down({ ref, target: as, reason: Reason.noconnection }, true))
      } else {
        ;(watcher.watching ??= new Map()).set(ref.id, { ref, target: as, remoteTarget: as })
        this.remote.monitor(watcher.pid, as, ref)
      }
      return ref
    }
    this.enqueueSystem(watcher, new Down({ ref, target: as, reason: Reason.noproc }, true))
    return ref
  }

  demonitor(watcher: Proc, ref: Reference): void {
    const w = watcher.watching?.get(ref.id)
    if (w === undefined) return
    watcher.watching!.delete(ref.id)
    if (w.target instanceof Proc) w.target.watchers?.delete(ref.id)
    else this.remote?.demonitor(watcher.pid, w.remoteTarget!, ref)
  }

  /** A remote process monitors a local one (called by distribution); false means it is gone (send Down noproc). */
  remoteMonitor(watcher: Pid, target: Pid | Name, ref: Reference): boolean {
    const proc = this.lookup(target)
    if (proc === undefined || proc.status >= EXITING) return false
    ;(proc.watchers ??= new Map()).set(ref.id, { ref, watcher, target })
    return true
  }

  /** Records that a local process monitors a remote one set up on the other side (remote spawn); false if the watcher is gone. */
  adoptRemoteMonitor(watcher: Pid, target: Pid, ref: Reference): boolean {
    const proc = this.lookup(watcher)
    if (proc === undefined || proc.status >= EXITING) return false
    ;(proc.watching ??= new Map()).set(ref.id, { ref, target, remoteTarget: target })
    return true
  }

  remoteDemonitor(target: Pid | Name, ref: Reference): void {
    this.lookup(target)?.watchers?.delete(ref.id)
  }

  /** A `Down` for a local watcher of a remote process (called by distribution). */
  remoteDown(watcher: Pid, ref: Reference, target: Pid | Name, reason: ExitReason): void {
    const proc = this.lookup(watcher)
    if (proc === undefined || proc.watching?.get(ref.id) === undefined) return
    proc.watching.delete(ref.id)
    this.enqueueSystem(proc, new Down({ ref, target, reason }, true))
  }

  /** Connection to `node` lost: every link and monitor across it fires with `noconnection`. */
  nodeDown(node: string, reason: string): void {
    for (const proc of Array.from(this.procs.values())) {
      if (proc.watching !== null) {
        for (const w of Array.from(proc.watching.values())) {
          if (w.remoteTarget !== undefined && w.remoteTarget.node === node) {
            proc.watching.delete(w.ref.id)
            this.enqueueSystem(proc, new Down({ ref: w.ref, target: w.remoteTarget, reason: Reason.noconnection }, true))
          }
        }
      }
      if (proc.watchers !== null) {
        for (const [id, w] of Array.from(proc.watchers)) {
          if (!(w.watcher instanceof Proc) && w.watcher.node === node) proc.watchers.delete(id)
        }
      }
      if (proc.links !== null) {
        for (const [key, other] of Array.from(proc.links)) {
          if (!(other instanceof Proc) && other.node === node) {
            proc.links.delete(key)
            this.exitSignal(proc, other, Reason.noconnection, false)
          }
        }
      }
    }
    for (const [refId, entry] of Array.from(this.pending)) {
      if (entry.remoteNode === node) {
        this.forget(refId)
        entry.resume(Effect.fail(new NoConnection({ node, reason })))
      }
    }
    const watchers = this.nodeWatchers.get(node)
    if (watchers !== undefined) for (const proc of watchers) this.enqueueSystem(proc, new NodeDown({ node, reason }, true))
  }

  nodeUp(node: string): void {
    const watchers = this.nodeWatchers.get(node)
    if (watchers !== undefined) for (const proc of watchers) this.enqueueSystem(proc, new NodeUp({ node }, true))
  }

  /** Resolves when a local process has exited; `noproc` if it is not alive. */
  awaitExit(pid: Pid): Effect.Effect<ExitReason> {
    return Effect.async<ExitReason>((resume) => {
      const proc = this.lookup(pid)
      if (proc === undefined || proc.status === DEAD) return resume(Effect.succeed(Reason.noproc))
      const listener = (dead: Proc, reason: ExitReason) => {
        if (dead === proc) {
          this.exitListeners.delete(listener)
          resume(Effect.succeed(reason))
        }
      }
      this.exitListeners.add(listener)
      return Effect.sync(() => this.exitListeners.delete(listener))
    })
  }

  // ---------------------------------------------------------------------------
  // Registry

  register(proc: Proc, name: string): NameTaken | AlreadyRegistered | undefined {
    const owner = this.names.get(name)
    if (owner === proc) return undefined
    if (owner !== undefined) return new NameTaken({ name, owner: owner.pid.toString() })
    if (proc.name !== undefined) return new AlreadyRegistered({ pid: proc.pid.toString(), name: proc.name })
    if (proc.status >= EXITING) return undefined
    proc.name = name
    this.names.set(name, proc)
    return undefined
  }

  unregister(proc: Proc): void {
    if (proc.name === undefined) return
    if (this.names.get(proc.name) === proc) this.names.delete(proc.name)
    proc.name = undefined
  }

  // ---------------------------------------------------------------------------
  // Stopping the node

  /** Stops every process, newest first, with `shutdown`; resolves when all are gone. */
  shutdown(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.stopped = true
      kernels.delete(`${this.name}/${this.creation}`)
      const all = Array.from(this.procs.values()).reverse()
      if (all.length === 0) return Effect.void
      return Effect.async<void>((resume) => {
        const check = () => {
          if (this.procs.size === 0) {
            this.exitListeners.delete(listener)
            resume(Effect.void)
          }
        }
        const listener = () => check()
        this.exitListeners.add(listener)
        for (const proc of all) {
          if (proc.status === RUNNING) proc.pendingExit ??= Reason.shutdown
          else this.exitProcess(proc, Reason.shutdown)
        }
        check()
      })
    })
  }

  statusName(proc: Proc): StatusName {
    return statusNames[proc.status]!
  }
}
