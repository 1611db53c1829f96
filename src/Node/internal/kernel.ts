/**
 * The kernel of a node: the process table, names, and the loop that drains mailboxes.
 *
 * A process is a plain object here (`proc.ts`). An idle process holds no fiber: when a
 * message arrives it is put on the run queue, and one drain loop takes each ready process
 * and runs its handlers one message at a time, synchronously when the handler's Effect is
 * synchronous (see `runLoop.ts`), on a fiber when it suspends (a `call`, a sleep, I/O).
 * While a handler's fiber runs, the process takes no other message, as a gen_server.
 *
 * This file keeps the hot path together: lookup, schedule/drain/step/handle/complete,
 * spawn, send/enqueue, exitProcess/finalize, register and shutdown. Around it, one
 * concern per file: `calls.ts` (calls and replies), `signals.ts` (links, monitors, exit
 * signals, lost nodes), `scheduler.ts` (the fibers' Scheduler), `timers.ts` (Clock
 * timers), `local.ts` (what distribution may call here).
 *
 * @internal
 */
import type { Clock, Fiber } from "effect"
import { Cause, Effect, Exit, FiberId, LogLevel, Runtime, Tracer } from "effect"
import type { Behaviour, CallResult, CallTimeout, Priority, SpawnOptions } from "../../Process/Behaviour.js"
import type { SendError } from "../../Process/Context.js"
import {
  AlreadyRegistered,
  CallNotHandled,
  InitFailed,
  MailboxFull,
  NameTaken,
  NodeStopped,
  TooManyProcesses
} from "../../Process/errors.js"
import * as Reason from "../../Process/ExitReason.js"
import type { ExitReason } from "../../Process/ExitReason.js"
import { IdleTimeout as TimeoutMessage } from "../../Process/Message.js"
import { Alias, Name, Pid, Reference, unsafeMake } from "../../Process/Pid.js"
import type { Address } from "../../Process/Pid.js"
import { isExit, runEffect } from "../../Process/internal/runLoop.js"
import type { PendingCall } from "./calls.js"
import { ProcessContext } from "./context.js"
import { dropCallsOf, quickError, replyTo, requestType, toMillis } from "./calls.js"
import { CallEnvelope, Lane, ParentExit, TracedCallEnvelope } from "./mailbox.js"
import { MemoryGuard, restartSpawn } from "./memory.js"
import {
  DEAD,
  EXITING,
  IDLE,
  INIT,
  K_CALL,
  K_INFO,
  K_INIT,
  K_MESSAGE,
  K_TERMINATE,
  notAnEffect,
  Proc,
  RUNNING,
  SCHEDULED,
  SUSPENDED,
  WAITING
} from "./proc.js"
import type { Waiter } from "./proc.js"
import type { Remote } from "./remote.js"
import type { ReportOptions } from "./reports.js"
import { Reports } from "./reports.js"
import type { KernelScheduler } from "./scheduler.js"
import { exitSignal, linkProcs, monitorLocal, notifyExit } from "./signals.js"
import { Deadlines } from "./deadlines.js"
import { NodeStats } from "./stats.js"
import { ClockTimers } from "./timers.js"


const noop = (): void => {}

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
  readonly reports: ReportOptions
  /** `tracing: true`: each call is a span, and its context travels with the request (see `calls.ts`). */
  readonly tracing: boolean
  /** `limits.maxMemory` in bytes and its sampling interval; undefined without a limit. */
  readonly maxMemory: { readonly bytes: number; readonly intervalMillis: number } | undefined
  /** `process.shutdownTimeout`: how long `shutdown` waits for `terminate`s before killing what is left. */
  readonly shutdownTimeoutMillis: number
}

/**
 * The handler of a traced call runs under a server span whose parent is the caller's span
 * (on this node or another): one trace shows the request crossing nodes. Only for calls
 * that carry a trace context, so an untraced call pays one `instanceof`.
 */
const serverSpan = (
  effect: Effect.Effect<unknown, unknown, unknown>,
  envelope: TracedCallEnvelope,
  proc: Proc
): Effect.Effect<unknown, unknown, unknown> => {
  const [traceId, spanId, sampled] = envelope.trace
  return Effect.withSpan(effect, "rain.handleCall", {
    kind: "server",
    parent: Tracer.externalSpan({ traceId, spanId, sampled }),
    attributes: {
      "rain.node": proc.kernel.name,
      "rain.pid": proc.pid.toString(),
      "rain.behaviour": proc.behaviour.name,
      "rain.request": requestType(envelope.request),
      ...(proc.name === undefined ? {} : { "rain.name": proc.name })
    }
  })
}

/** The kernel behind each node service (see `kernelOf`). */
const kernelOfNode = new WeakMap<object, Kernel>()

/**
 * The kernel of a node service, for Rain's own modules (Application, Supervisor, Testing)
 * and tests; the public `NodeService` does not show it.
 *
 * @internal
 */
export const kernelOf = (node: object): Kernel => {
  const kernel = kernelOfNode.get(node)
  if (kernel === undefined) throw new Error("rain: not a node service made by Node.start")
  return kernel
}

/** Ties a node service to its kernel (`Node.start`). */
export const attachKernel = (node: object, kernel: Kernel): void => {
  kernelOfNode.set(node, kernel)
}

/** Live kernels by `node/creation`, so that code holding only a pid (a process context) finds its node. */
export const kernels = new Map<string, Kernel>()

/** The live kernel a pid belongs to (its node and creation), if it is on this OS process or thread. */
export const kernelOfPid = (pid: { readonly node: string; readonly creation: number }): Kernel | undefined =>
  kernels.get(`${pid.node}/${pid.creation}`)

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
  /** Above `limits.maxMemory`: spawns and local sends are refused (the one check on the hot paths). */
  memoryHigh = false
  readonly memory: MemoryGuard | undefined
  readonly reports: Reports
  /** The message the handler running in the drain handles, for its crash report. */
  private handling: unknown = undefined
  /** The message (or `init` args) of each handler that suspended, for its crash report. */
  private readonly suspended = new WeakMap<Proc, unknown>()
  /** Each full process's `MailboxFull`, reused (see `mailboxFull`). */
  private readonly refusals = new WeakMap<Proc, MailboxFull>()
  /** The pid that stands for the node itself: the sender of `node.exit`, the parent of `node.spawn`'s processes. */
  readonly nodePid: Pid
  nextId = 1
  nextRef = 1
  totalIn = 0
  totalOut = 0
  readonly startedAt: number
  /** Counters beyond messages in and out, read by `node.metrics()` and `rain/Telemetry` (see `stats.ts`). */
  readonly stats: NodeStats
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
    this.nodePid = unsafeMake(Pid, this.name, 0, this.creation)
    this.reports = new Reports(this, options.reports)
    this.memory = options.maxMemory === undefined
      ? undefined
      : new MemoryGuard(this, options.maxMemory.bytes, options.maxMemory.intervalMillis)
    this.stats = new NodeStats(performance.now())
    kernels.set(`${this.name}/${this.creation}`, this)
    this.memory?.start()
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

  isRemote(to: Address<any, any>): to is Pid | Name | Alias {
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
  private readonly deadlines = new Deadlines()
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
    // The message rate's sample, at most once a second: one comparison per drain, no timer.
    if (started >= this.stats.nextTick) this.stats.tick(started, this.totalIn)
    let handled = 0
    const tasks = this.scheduler
    try {
      const queue = this.runQueue
      for (;;) {
        // Time budget, checked every few hundred messages or after any fiber tasks
        // (a task may run 2048 Effect operations): while processes keep the loop busy,
        // timers, I/O and Effect code outside processes wait about this long.
        if (handled > 256) {
          handled = 0
          if (performance.now() - started > 5) {
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

  /** Queues a link exit signal, delivered in order by the drain loop. */
  queueSignal(target: Proc, from: Pid, reason: ExitReason): void {
    this.signals.push(target, from, reason)
    this.wake()
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
      exitSignal(this, target, from, reason, true)
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

  /**
   * A slot freed in a bounded mailbox: the `node.send`s waiting for room are served in
   * arrival order, each message enqueued here (not when its sender resumes), so that a
   * sender that was not waiting cannot take the slot first.
   */
  private wakeWaiters(proc: Proc): void {
    const waiters = proc.waiters!
    while (waiters.length > 0 && proc.main.length < proc.mailboxSize) {
      const waiter = waiters.shift()!
      proc.main.push(waiter.message)
      waiter.resume()
    }
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
    // Tracing costs the untraced process this one check (see `trace.ts`).
    if (proc.trace !== null) this.traceHandled(proc, message, system)
    if (system && message instanceof ParentExit) {
      // gen_server: an exit signal from the parent ends a process that traps exits, through terminate.
      proc.status = WAITING
      return this.obeyParent(proc, message)
    }
    let effect: Effect.Effect<unknown, unknown, unknown>
    proc.status = RUNNING
    try {
      if (system) {
        if (b.handleInfo === undefined) {
          this.reports.unhandledMessage(proc, message, "handleInfo")
          proc.status = SCHEDULED
          return
        }
        proc.kind = K_INFO
        effect = b.handleInfo(message as any, proc.state, proc.ctx)
      } else if (message instanceof CallEnvelope) {
        if (b.handleCall === undefined) {
          this.reports.unhandledMessage(proc, message.request, "handleCall")
          replyTo(this, message.from, Exit.fail(new CallNotHandled({ target: proc.label(), behaviour: b.name })))
          proc.status = SCHEDULED
          return
        }
        proc.kind = K_CALL
        proc.from = message.from
        effect = b.handleCall(message.request, message.from, proc.state, proc.ctx)
        if (message instanceof TracedCallEnvelope) effect = serverSpan(effect, message, proc)
      } else {
        if (b.handleMessage === undefined) {
          this.reports.unhandledMessage(proc, message, "handleMessage")
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
    // What it is handling, for a crash report: one write here, kept per process only for a
    // handler that suspends (so that a Proc needs no field for it).
    this.handling = message
    const result = runEffect(effect, proc.runtime, proc)
    if (isExit(result)) {
      this.complete(proc, result, true)
    } else {
      this.suspended.set(proc, message)
      proc.fiber = result as Fiber.RuntimeFiber<unknown, unknown>
      if (proc.status === RUNNING) proc.status = WAITING
    }
  }

  /** Records a message a traced process is about to handle: not a hot path (tracing is on). */
  private traceHandled(proc: Proc, message: unknown, system: boolean): void {
    // The node's Clock (a TestClock under test), as timers and reports read it.
    const at = this.options.clock.unsafeCurrentTimeMillis()
    if (system) proc.trace!.record(at, "info", message)
    else if (message instanceof CallEnvelope) proc.trace!.record(at, "call", message.request)
    else proc.trace!.record(at, "message", message)
  }

  /** A handler finished (synchronously when `inDrain`, or from its fiber). */
  complete(proc: Proc, exit: Exit.Exit<unknown, unknown>, inDrain: boolean): void {
    const kind = proc.kind
    if (kind === K_TERMINATE) {
      this.terminated(proc, exit)
      return
    }
    if (kind === K_INIT) {
      this.completeInit(proc, exit, this.takeSuspended(proc))
      return
    }
    const message = inDrain ? this.handling : this.takeSuspended(proc)
    if (proc.status >= EXITING) return
    if (exit._tag === "Failure") {
      proc.status = WAITING
      const interrupted = Cause.isInterruptedOnly(exit.cause)
      const reason = interrupted ? Reason.killed : Reason.fromCause(exit.cause)
      if (!interrupted) this.crashed(proc, reason, message)
      this.exitProcess(proc, reason)
      return
    }
    if (kind === K_CALL) {
      const result = exit.value as CallResult<unknown>
      const from = proc.from!
      proc.from = undefined
      if (result === undefined || result === null || typeof result !== "object" || !("_tag" in result)) {
        proc.status = WAITING
        const reason = Reason.fromCause(
          Cause.die(new Error(`${proc.behaviour.name}.handleCall must return Process.reply, replyError or noReply`))
        )
        this.crashed(proc, reason, message)
        this.exitProcess(proc, reason)
        return
      }
      proc.state = result.state
      if (result._tag === "Reply") replyTo(this, from, Exit.succeed(result.value))
      else if (result._tag === "ReplyError") replyTo(this, from, Exit.fail(result.error))
    } else {
      proc.state = exit.value
    }
    this.afterHandler(proc, inDrain, message)
  }

  /** The message a suspended handler was handling (see `handle`), forgotten as it is read. */
  private takeSuspended(proc: Proc): unknown {
    const message = this.suspended.get(proc)
    if (message !== undefined) this.suspended.delete(proc)
    return message
  }

  /** A crash report for a process that failed in a handler while handling `message` (`init` reports its own). */
  private crashed(proc: Proc, reason: ExitReason, message: unknown): void {
    const kind = proc.kind
    const handler = kind === K_CALL ? "handleCall" : kind === K_INFO ? "handleInfo" : "handleMessage"
    this.reports.crash(proc, reason, handler, message instanceof CallEnvelope ? message.request : message)
  }

  private afterHandler(proc: Proc, inDrain: boolean, message: unknown): void {
    if (proc.stopReason !== undefined || proc.pendingExit !== undefined) {
      const reason = proc.pendingExit ?? proc.stopReason!
      proc.status = WAITING
      // A process that stops itself with an abnormal reason crashed (gen_server's {stop, Reason}).
      if (proc.pendingExit === undefined && !Reason.isClean(reason)) {
        this.reports.crash(proc, reason, "a handler (stop)", message instanceof CallEnvelope ? message.request : message)
      }
      this.exitProcess(proc, reason)
      return
    }
    if (inDrain) {
      proc.status = SCHEDULED
    } else if (proc.suspendWaiters !== null) {
      // Off the hot path: only a handler that ran on a fiber can have been asked to suspend meanwhile.
      this.becomeSuspended(proc)
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
    done: (exit: Exit.Exit<Pid, unknown>, ref?: Reference) => void,
    parent?: Pid
  ): void {
    if (this.stopped) return done(Exit.fail(new NodeStopped({ node: this.name })))
    if (this.memoryHigh && (options === undefined || !(restartSpawn in options))) {
      this.stats.refusedMemory++
      return done(Exit.fail(this.memory!.refusal()))
    }
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
    proc.ctx = new ProcessContext(proc)
    // The parent (proc_lib's): the process that spawned it linked, or the node for node.spawn.
    proc.parent = link?.pid ?? parent
    if (options?.trapExit ?? behaviour.options?.trapExit) proc.trapExit = true
    if (options?.importantDelivery ?? behaviour.options?.importantDelivery) proc.important = true
    this.procs.set(id, proc)
    this.stats.spawns++
    if (name !== undefined) {
      proc.name = name
      this.names.set(name, proc)
    }
    proc.initDone = (exit) => {
      if (exit._tag === "Success") {
        let ref: Reference | undefined
        if (link !== undefined) {
          if (link.status !== DEAD) linkProcs(link, proc)
          // The spawner died while this ran init: OTP links before init, so its exit signal comes now.
          else this.queueSignal(proc, link.pid, link.exitReason ?? Reason.killed)
        }
        if (monitor !== undefined && monitor.status < EXITING) ref = monitorLocal(this, monitor, proc, pid)
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
    if (isExit(result)) this.completeInit(proc, result, args)
    else if (proc.status >= EXITING) {
      // Killed during init (by itself): its spawner was told; nothing of it runs on.
      ;(result as Fiber.RuntimeFiber<unknown, unknown>).unsafeInterruptAsFork(FiberId.none)
    } else {
      this.suspended.set(proc, args)
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

  private completeInit(proc: Proc, exit: Exit.Exit<unknown, unknown>, args: unknown): void {
    const done = proc.initDone
    // Answered already: it was killed during init (by itself too), and its spawner told then.
    if (done === undefined) return
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
      if (exit._tag === "Failure" ? !Cause.isInterruptedOnly(exit.cause) : !Reason.isClean(reason)) {
        this.reports.crash(proc, reason, "init", args)
      }
      this.finalize(proc, reason)
      done(Exit.fail(new InitFailed({ behaviour: proc.behaviour.name, reason })))
      return
    }
    proc.state = exit.value
    proc.kind = K_MESSAGE
    done(exit)
    if (proc.status >= EXITING) return
    if (proc.suspendWaiters !== null) this.becomeSuspended(proc)
    else if (proc.mailboxLength() > 0) this.schedule(proc)
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
      this.stats.droppedNoProcess++
      return undefined
    }
    if (this.memoryHigh) {
      if (proc.status >= EXITING) return undefined
      this.stats.refusedMemory++
      return this.memory!.refusal()
    }
    return this.enqueue(proc, message, priority)
  }

  /**
   * Enqueues a message that was already accepted elsewhere (it arrived from another node):
   * never refused for memory, so that nothing accepted is lost. Hot path.
   */
  deliver(to: Address<any, any>, message: unknown, priority: Priority): SendError | undefined {
    const proc = this.lookup(to)
    return proc === undefined ? undefined : this.enqueue(proc, message, priority)
  }

  private sendRemote(from: Proc | undefined, to: Pid | Name | Alias, message: unknown, priority: Priority): SendError | undefined {
    if (this.remote === undefined) return undefined
    return this.remote.send(from?.pid, to, message, priority) as SendError | undefined
  }

  /** Hot path. */
  enqueue(proc: Proc, message: unknown, priority: Priority): SendError | undefined {
    if (proc.status >= EXITING) return undefined
    if (priority === "normal") {
      if (proc.main.length >= proc.mailboxSize) return this.mailboxFull(proc)
      proc.main.push(message)
    } else if (priority === "urgent") {
      ;(proc.urgent ??= new Lane()).push(message)
    } else {
      ;(proc.log ??= new Lane()).push(message)
    }
    if (proc.status === IDLE) this.schedule(proc)
    return undefined
  }

  /**
   * The `MailboxFull` of a process: built once (no stack, no validation) and reused while
   * the process keeps its label, so that under overload a refusal costs next to nothing
   * and never starves the full process it is about.
   */
  mailboxFull(proc: Proc): MailboxFull {
    this.stats.refusedMailboxFull++
    let error = this.refusals.get(proc)
    if (error === undefined) {
      error = quickError(() => new MailboxFull({ target: proc.label(), size: proc.mailboxSize }, true))
      this.refusals.set(proc, error)
    }
    return error
  }

  enqueueSystem(proc: Proc, message: unknown): void {
    if (proc.status >= EXITING) return
    if (proc.status === SUSPENDED && message instanceof ParentExit) {
      // A suspended process still obeys its parent (sys's suspended loop handles the parent's
      // 'EXIT'): it terminates now, with the state it has, so a supervisor can stop it.
      return this.obeyParent(proc, message)
    }
    ;(proc.system ??= new Lane()).push(message)
    if (proc.status === IDLE) this.schedule(proc)
  }

  /** An exit signal from its parent ends a process through `terminate`, with a crash report unless the reason is clean. */
  private obeyParent(proc: Proc, message: ParentExit): void {
    if (!Reason.isClean(message.reason)) this.reports.crash(proc, message.reason, "an exit signal from its parent", message.from)
    this.exitProcess(proc, message.reason)
  }

  // ---------------------------------------------------------------------------
  // Suspending (sys:suspend / sys:resume): not on the hot path. A suspended process is
  // neither IDLE nor SCHEDULED, so sends queue without scheduling it and the drain skips it.

  /**
   * Suspends a process: at once when it is idle or waiting for its turn, else once its
   * current handler (or `init`) returns. `done(true)` when suspended, `done(false)` when it
   * ended first. Returns a function that withdraws a request still waiting. A process that
   * is running its own handler right now (it asked for itself) cannot wait for itself:
   * the caller checks `status === RUNNING` first.
   */
  suspend(proc: Proc, done: (suspended: boolean) => void): () => void {
    const status = proc.status
    if (status >= EXITING) {
      done(false)
      return noop
    }
    if (status === SUSPENDED || status === IDLE || status === SCHEDULED) {
      // A SCHEDULED process stays in the run queue: the drain skips it while it is suspended.
      proc.status = SUSPENDED
      done(true)
      return noop
    }
    const waiters = (proc.suspendWaiters ??= [])
    waiters.push(done)
    return () => {
      const current = proc.suspendWaiters
      if (current === null) return
      const i = current.indexOf(done)
      if (i >= 0) current.splice(i, 1)
      if (current.length === 0) proc.suspendWaiters = null
    }
  }

  /** Its handler returned and someone asked it to suspend: it suspends and tells them. */
  private becomeSuspended(proc: Proc): void {
    const waiters = proc.suspendWaiters!
    proc.suspendWaiters = null
    proc.status = SUSPENDED
    for (const waiter of waiters) waiter(true)
  }

  /** Resumes a suspended process: it takes the messages that queued meanwhile, in order. False if it was not suspended. */
  resume(proc: Proc): boolean {
    if (proc.status !== SUSPENDED) return false
    if (proc.mailboxLength() > 0) this.schedule(proc)
    else {
      proc.status = IDLE
      this.armIdleTimeout(proc)
    }
    return true
  }

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

  /**
   * `send` that waits instead of failing (the Effect-level API): for room in a bounded
   * mailbox, in arrival order (a sender that finds others waiting queues behind them), and
   * for the node to be back under its memory limit.
   */
  sendWait(to: Address<any, any>, message: unknown, priority: Priority): Effect.Effect<void, SendError> {
    return Effect.suspend(() => {
      const waiting = priority === "normal" ? this.lookup(to) : undefined
      if (waiting !== undefined && waiting.waiters !== null && !this.memoryHigh && waiting.status < EXITING) {
        return this.waitForRoom(waiting, message)
      }
      const error = this.send(undefined, to, message, priority)
      if (error === undefined) return this.remoteBackpressure(to) ?? Effect.void
      // Not a refusal after all: this sender waits (the stats counted one in `send`).
      if (error._tag === "MemoryLimit") {
        this.stats.refusedMemory--
        return Effect.async<void>((resume) => {
          const cancel = this.memory!.whenBelow(() => resume(Effect.void))
          return Effect.sync(cancel)
        }).pipe(Effect.zipRight(this.sendWait(to, message, priority)))
      }
      if (error._tag !== "MailboxFull") return Effect.fail(error)
      this.stats.refusedMailboxFull--
      return this.waitForRoom(this.lookup(to)!, message)
    })
  }

  /** Waits in line for room in `proc`'s main lane; the message is enqueued when its turn comes (`wakeWaiters`). */
  private waitForRoom(proc: Proc, message: unknown): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const waiter: Waiter = { message, resume: () => resume(Effect.void) }
      ;(proc.waiters ??= []).push(waiter)
      return Effect.sync(() => {
        const i = proc.waiters?.indexOf(waiter) ?? -1
        if (i >= 0) proc.waiters!.splice(i, 1)
      })
    })
  }

  // ---------------------------------------------------------------------------
  // Timers: Clock time, so that TestClock drives them in tests.

  /**
   * A call's timeout: `task` at `now + millis` (`now` from the node's clock) unless cancelled.
   * On the live clock, calls of one timeout length share a timer (see `deadlines.ts`).
   */
  startCallTimer(now: number, millis: number, task: () => void): () => void {
    return this.options.liveClock ? this.deadlines.start(now, millis, task) : this.clockTimers.start(millis, task)
  }

  /** Runs `task` after `millis`; returns a cancel function. */
  startTimer(millis: number, task: () => void): () => void {
    if (this.options.liveClock) {
      const handle = setTimeout(task, millis)
      return () => clearTimeout(handle)
    }
    return this.clockTimers.start(millis, task)
  }

  // ---------------------------------------------------------------------------
  // Exiting

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
      if (proc.initDone !== undefined) this.completeInit(proc, Exit.void, this.takeSuspended(proc))
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
      if (isExit(result)) this.terminated(proc, result)
      else proc.fiber = result as Fiber.RuntimeFiber<unknown, unknown>
      return
    }
    this.finalize(proc, reason)
  }

  /**
   * `terminate` returned. As gen_server does, a `terminate` that failed or died is reported
   * as a crash and the process ends with that failure instead of the reason it was given
   * (its links and monitors see it); one that was interrupted (by `kill`) changes nothing.
   */
  private terminated(proc: Proc, exit: Exit.Exit<unknown, unknown>): void {
    const given = proc.exitReason!
    if (exit._tag === "Success" || Cause.isInterruptedOnly(exit.cause)) return this.finalize(proc, given)
    const reason = Reason.fromCause(exit.cause)
    this.reports.crash(proc, reason, "terminate", given)
    this.finalize(proc, reason)
  }

  /** Releases a dead process's resources and fires its links and monitors. */
  private finalize(proc: Proc, reason: ExitReason): void {
    if (proc.status === DEAD) return
    proc.status = DEAD
    proc.exitReason = reason
    this.stats.exited(reason)
    this.procs.delete(proc.id)
    if (proc.name !== undefined && this.names.get(proc.name) === proc) this.names.delete(proc.name)
    if (proc.aliases !== null) for (const id of proc.aliases) this.aliases.delete(id)
    if (proc.cancelIdle !== undefined) proc.cancelIdle()
    if (proc.timers !== null) for (const cancel of proc.timers.values()) cancel()
    if (proc.nodeWatches !== null) for (const node of proc.nodeWatches) this.nodeWatchers.get(node)?.delete(proc)
    proc.main.clear()
    proc.urgent = proc.system = proc.log = null
    // Waiting senders to a process that is gone: their messages are dropped, as any send to a dead process.
    if (proc.waiters !== null) for (const waiter of proc.waiters) waiter.resume()
    dropCallsOf(this, proc, reason)
    notifyExit(this, proc, reason)
    proc.links = proc.watchers = proc.watching = proc.timers = null
    proc.aliases = proc.waiters = null
    proc.nodeWatches = null
    proc.state = undefined
    if (proc.suspendWaiters !== null) {
      const waiters = proc.suspendWaiters
      proc.suspendWaiters = null
      for (const waiter of waiters) waiter(false)
    }
    for (const listener of this.exitListeners) listener(proc, reason)
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
    this.refusals.delete(proc)
    return undefined
  }

  unregister(proc: Proc): void {
    if (proc.name === undefined) return
    if (this.names.get(proc.name) === proc) this.names.delete(proc.name)
    proc.name = undefined
    this.refusals.delete(proc)
  }

  // ---------------------------------------------------------------------------
  // Stopping the node

  /**
   * Stops every process, newest first, with `shutdown`; resolves when all are gone. Those
   * still running after `shutdownTimeoutMillis` (a `terminate` or a handler that does not
   * end) are killed, with one warning naming them, so that a node always stops.
   */
  shutdown(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.stopped = true
      this.memory?.stop()
      this.reports.close()
      kernels.delete(`${this.name}/${this.creation}`)
      const all = Array.from(this.procs.values()).reverse()
      if (all.length === 0) return Effect.void
      return Effect.async<void>((resume) => {
        let cancelTimer: (() => void) | undefined
        const check = () => {
          if (this.procs.size === 0) {
            this.exitListeners.delete(listener)
            cancelTimer?.()
            resume(Effect.void)
          }
        }
        const listener = () => check()
        this.exitListeners.add(listener)
        for (const proc of all) {
          if (proc.status === RUNNING) proc.pendingExit ??= Reason.shutdown
          else this.exitProcess(proc, Reason.shutdown)
        }
        if (this.procs.size > 0) cancelTimer = this.startTimer(this.options.shutdownTimeoutMillis, () => this.killRest())
        check()
      })
    })
  }

  /** Past the shutdown timeout: kills what is still running, newest first, and says so once. */
  private killRest(): void {
    const left = Array.from(this.procs.values()).reverse()
    const named = left.slice(0, 10).map((proc) => `${proc.label()} (${proc.behaviour.name})`)
    this.reports.log(
      LogLevel.Warning,
      `node stop: ${left.length} process(es) still running ${this.options.shutdownTimeoutMillis} ms after shutdown ` +
        `(a terminate or a handler that does not end), killed: ${named.join(", ")}${left.length > named.length ? ", ..." : ""}. ` +
        `Raise process.shutdownTimeout if they need longer.`,
      { node: this.name, killed: String(left.length) }
    )
    for (const proc of left) this.exitProcess(proc, Reason.killed, true)
  }
}