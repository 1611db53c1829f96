/**
 * Calls and replies (gen_server's call): the table of calls waiting for their reply,
 * the timeout of each, and the rules that fail a call early (the callee dies, its node
 * goes away, the caller dies). Functions over the kernel rather than methods, so that
 * the kernel file keeps to the scheduler.
 *
 * Hot path: `call`, `awaitReply`, `replyTo`, `completeCall` and `forget` run once per
 * call; they allocate the pending entry, the envelope and the reply address, nothing else.
 *
 * @internal
 */
import type { Exit } from "effect"
import { Duration, Effect } from "effect"
import type { CallTimeout } from "../../Process/Behaviour.js"
import type { ExitReason } from "../../Process/ExitReason.js"
import { NoConnection, ProcessExited, ProcessUnknown, Timeout } from "../../Process/errors.js"
import { From } from "../../Process/Message.js"
import { Alias, unsafeMake } from "../../Process/Pid.js"
import type { Address, Name, Pid, Reference } from "../../Process/Pid.js"
import type { Kernel } from "./kernel.js"
import { CallEnvelope } from "./mailbox.js"
import type { Proc } from "./proc.js"
import { EXITING } from "./proc.js"

/** A call awaiting its reply. */
export interface PendingCall {
  readonly resume: (effect: Effect.Effect<any, any>) => void
  readonly targetLabel: string
  target: Proc | undefined
  caller: Proc | undefined
  /** The node of a remote callee, so that losing that node fails the call. */
  remoteNode: string | undefined
  cancelTimer: (() => void) | undefined
  /** Clock time after which a reply is late (Infinity without a timeout). */
  deadline: number
  millis: number
}

/**
 * Builds an error of a call or send that fails at once without a stack trace (it would
 * only show the kernel); pass `true` as the constructor's second argument to skip Schema
 * validation too. A caller retrying in a loop (waiting for a supervisor to restart a
 * process, or for room in a full mailbox) spends its time here, and the process it waits
 * for waits for it.
 */
export const quickError = <E>(make: () => E): E => {
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

let lastTimeout: CallTimeout | undefined
let lastMillis = 0
/** Timeout in milliseconds; remembers the last input, since a program uses few distinct timeouts. */
export const toMillis = (timeout: CallTimeout): number => {
  if (timeout === lastTimeout) return lastMillis
  const millis = timeout === "infinity" ? Infinity : Duration.toMillis(Duration.decode(timeout))
  lastTimeout = timeout
  lastMillis = millis
  return millis
}

/**
 * Calls a process and waits for the reply. Failures known at once (no such process,
 * full mailbox, no distribution) are plain `Effect.fail`s rather than an async resumed
 * on the spot: Effect resets its yield counter at each async boundary, so a retry loop
 * over synchronously resumed asyncs would never yield to other processes.
 */
export const call = (
  kernel: Kernel,
  from: Proc | undefined,
  to: Address<any, any>,
  request: unknown,
  timeout: CallTimeout | undefined
): Effect.Effect<any, any> =>
  Effect.suspend(() => {
    if (from !== undefined) {
      from.messagesOut++
      kernel.totalOut++
    }
    const proc = kernel.lookup(to)
    if (proc === undefined || proc.status >= EXITING) {
      if (proc !== undefined || !kernel.isRemote(to)) {
        return Effect.fail(quickError(() => new ProcessUnknown({ target: typeof to === "string" ? to : to.toString() }, true)))
      }
      if (kernel.remote === undefined) {
        return Effect.fail(new NoConnection({ node: (to as Pid).node, reason: "distribution is not started" }))
      }
    } else if (proc.main.length >= proc.mailboxSize) {
      return Effect.fail(kernel.mailboxFull(proc))
    }
    return awaitReply(kernel, from, to, proc, request, timeout)
  })

/** Hot path of `call`: registers the pending call, enqueues the request, waits. */
const awaitReply = (
  kernel: Kernel,
  from: Proc | undefined,
  to: Address<any, any>,
  proc: Proc | undefined,
  request: unknown,
  timeout: CallTimeout | undefined
): Effect.Effect<any, any> =>
  Effect.async<any, any>((resume) => {
    const ref = kernel.makeRef()
    const label = typeof to === "string" ? to : to.toString()
    const entry: PendingCall = {
      resume,
      targetLabel: label,
      target: undefined,
      caller: undefined,
      remoteNode: undefined,
      cancelTimer: undefined,
      deadline: Infinity,
      millis: Infinity
    }
    const replyTo = from === undefined ? unsafeMake(Alias, kernel.name, ref.id, kernel.creation) : from.pid
    kernel.pending.set(ref.id, entry)
    if (proc === undefined) {
      entry.remoteNode = (to as Pid | Name).node
      const error = kernel.remote!.call(replyTo, to as Pid | Name, ref, request)
      if (error !== undefined) {
        kernel.pending.delete(ref.id)
        return resume(Effect.fail(error))
      }
    } else {
      entry.target = proc
      proc.callers++
      kernel.enqueue(proc, new CallEnvelope(request, makeFrom(replyTo, ref)), "normal")
    }
    const millis = toMillis(timeout ?? kernel.options.defaultCallTimeout)
    if (millis !== Infinity) {
      entry.millis = millis
      entry.deadline = kernel.options.clock.unsafeCurrentTimeMillis() + millis
      entry.cancelTimer = kernel.startTimer(millis, () => {
        entry.cancelTimer = undefined
        if (forget(kernel, ref.id)) resume(Effect.fail(new Timeout({ target: label, millis })))
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
      forget(kernel, ref.id)
    })
  })

/** Drops a pending call (timeout, interruption, reply); true if it was still pending. */
export const forget = (kernel: Kernel, refId: number): boolean => {
  const entry = kernel.pending.get(refId)
  if (entry === undefined) return false
  kernel.pending.delete(refId)
  if (entry.target !== undefined) entry.target.callers--
  if (entry.caller !== undefined) entry.caller.outstanding--
  if (entry.cancelTimer !== undefined) entry.cancelTimer()
  return true
}

/** Routes a reply; a reply nobody waits for any more is dropped. */
export const replyTo = (kernel: Kernel, from: From, exit: Exit.Exit<unknown, unknown>): void => {
  if (from.ref.node !== kernel.name) {
    kernel.remote?.reply(from.ref, exit)
    return
  }
  completeCall(kernel, from.ref, exit)
}

/**
 * Completes a local pending call (also used by distribution for remote replies). A reply
 * that arrives after the call's deadline is late, whichever of it and the timeout timer
 * runs first (a stalled event loop runs both late): the call fails with `Timeout` and the
 * reply is dropped, as in OTP.
 */
export const completeCall = (kernel: Kernel, ref: Reference, exit: Exit.Exit<unknown, unknown>): void => {
  if (ref.creation !== kernel.creation) return
  const entry = kernel.pending.get(ref.id)
  if (entry === undefined) return
  forget(kernel, ref.id)
  if (entry.deadline !== Infinity && kernel.options.clock.unsafeCurrentTimeMillis() >= entry.deadline) {
    entry.resume(Effect.fail(new Timeout({ target: entry.targetLabel, millis: entry.millis })))
    return
  }
  entry.resume(exit)
}

/**
 * A process ended: the calls it was waiting on are dropped, and the calls waiting on it
 * fail now with `ProcessExited` rather than at their timeout.
 */
export const dropCallsOf = (kernel: Kernel, proc: Proc, reason: ExitReason): void => {
  if (proc.outstanding > 0) {
    for (const [refId, entry] of Array.from(kernel.pending)) if (entry.caller === proc) forget(kernel, refId)
  }
  if (proc.callers > 0) {
    const label = proc.label()
    for (const [refId, entry] of Array.from(kernel.pending)) {
      if (entry.target === proc) {
        forget(kernel, refId)
        entry.resume(Effect.fail(new ProcessExited({ target: label, reason })))
      }
    }
  }
}

/** The connection to `node` is lost: the calls waiting on processes there fail with `NoConnection`. */
export const failRemoteCalls = (kernel: Kernel, node: string, reason: string): void => {
  for (const [refId, entry] of Array.from(kernel.pending)) {
    if (entry.remoteNode === node) {
      forget(kernel, refId)
      entry.resume(Effect.fail(new NoConnection({ node, reason })))
    }
  }
}
