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
import { Duration, Effect, Exit } from "effect"
import type { CallTimeout, Priority } from "../../Process/Behaviour.js"
import type { ExitReason } from "../../Process/ExitReason.js"
import { NoConnection, ProcessExited, ProcessUnknown, Timeout } from "../../Process/errors.js"
import { From } from "../../Process/Message.js"
import { Alias, unsafeMake } from "../../Process/Pid.js"
import type { Address, Name, Pid, Reference } from "../../Process/Pid.js"
import type { Kernel } from "./kernel.js"
import type { TraceContext } from "./mailbox.js"
import { CallEnvelope, TracedCallEnvelope } from "./mailbox.js"
import type { Proc } from "./proc.js"
import { EXITING } from "./proc.js"

/** A call awaiting its reply. */
export interface PendingCall {
  readonly resume: (effect: Effect.Effect<any, any>) => void
  /** The callee's address, for the message of a `Timeout` (formatted only then: `toString` per call costs). */
  readonly to: Address<any, any>
  target: Proc | undefined
  caller: Proc | undefined
  /** The node of a remote callee, so that losing that node fails the call. */
  remoteNode: string | undefined
  cancelTimer: (() => void) | undefined
  /** An important call: in the callee's mailbox (acknowledged); a timeout says which. */
  important: boolean
  acked: boolean
  /** Clock time after which a reply is late (Infinity without a timeout). */
  deadline: number
  millis: number
  /** `performance.now()` when the call started, while telemetry times calls (`stats.timeCalls`); else 0. */
  started: number
}

/** What `awaitReply` waits for: a call's reply, an important call's reply, an important message's receipt. */
const CALL = 0
const CALL_IMPORTANT = 1
const SEND_IMPORTANT = 2
type Waiting = typeof CALL | typeof CALL_IMPORTANT | typeof SEND_IMPORTANT

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

/** A message or call a process sends counts as its (and the node's) output. */
const countOut = (kernel: Kernel, from: Proc | undefined): void => {
  if (from !== undefined) {
    from.messagesOut++
    kernel.totalOut++
  }
}

/** An address as errors name it. */
const labelOf = (to: Address<any, any>): string => typeof to === "string" ? to : to.toString()

/** The failure of a call or important send to a local address with no live process. */
const unknownTarget = (to: Address<any, any>): Effect.Effect<never, ProcessUnknown> =>
  Effect.fail(quickError(() => new ProcessUnknown({ target: labelOf(to) }, true)))

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
  timeout: CallTimeout | undefined,
  waiting: Waiting = CALL
): Effect.Effect<any, any> =>
  kernel.options.tracing
    ? tracedCall(kernel, from, to, request, timeout, waiting)
    : untracedCall(kernel, from, to, request, timeout, waiting, undefined)

/**
 * A call on a node with `tracing: true`: a client span through the Effect `Tracer` of the
 * caller's runtime, whose context travels with the request (locally in the envelope,
 * remotely in the CALL frame), so that the callee's handler runs under a child span.
 */
const tracedCall = (
  kernel: Kernel,
  from: Proc | undefined,
  to: Address<any, any>,
  request: unknown,
  timeout: CallTimeout | undefined,
  waiting: Waiting
): Effect.Effect<any, any> =>
  Effect.useSpan(
    "rain.call",
    {
      kind: "client",
      attributes: {
        "rain.node": kernel.name,
        "rain.target": labelOf(to),
        "rain.request": requestType(request),
        ...(from === undefined ? {} : { "rain.pid": from.pid.toString() })
      }
    },
    (span) =>
      Effect.withParentSpan(
        untracedCall(kernel, from, to, request, timeout, waiting, [span.traceId, span.spanId, span.sampled]),
        span
      )
  )

/** The type of a request, for a span attribute: its `_tag`, or its class name. */
export const requestType = (request: unknown): string =>
  request !== null && typeof request === "object"
    ? typeof (request as { _tag?: unknown })._tag === "string"
      ? (request as { _tag: string })._tag
      : request.constructor?.name ?? "Object"
    : typeof request

const untracedCall = (
  kernel: Kernel,
  from: Proc | undefined,
  to: Address<any, any>,
  request: unknown,
  timeout: CallTimeout | undefined,
  waiting: Waiting,
  trace: TraceContext | undefined
): Effect.Effect<any, any> =>
  Effect.suspend(() => {
    countOut(kernel, from)
    const proc = kernel.lookup(to)
    if (proc === undefined || proc.status >= EXITING) {
      if (proc !== undefined || !kernel.isRemote(to)) {
        return unknownTarget(to)
      }
      if (kernel.remote === undefined) {
        return Effect.fail(new NoConnection({ node: (to as Pid).node, reason: "distribution is not started" }))
      }
    } else if (proc.main.length >= proc.mailboxSize) {
      return Effect.fail(kernel.mailboxFull(proc))
    }
    return awaitReply(kernel, from, to, proc, request, timeout, waiting, "normal", trace)
  })

/**
 * A call whose request is acknowledged once it is in the callee's mailbox (Ergo's
 * CallImportant): a request that cannot be delivered fails at once, and a `Timeout` says
 * whether the request had arrived (`delivered`), so a lost request is told apart from a
 * slow handler.
 */
export const callImportant = (
  kernel: Kernel,
  from: Proc | undefined,
  to: Address<any, any>,
  request: unknown,
  timeout: CallTimeout | undefined
): Effect.Effect<any, any> => call(kernel, from, to, request, timeout, CALL_IMPORTANT)

/**
 * Sends a message and completes once it is in the target's mailbox, local or remote
 * (Ergo's SendImportant), or fails with why not: `ProcessUnknown`, `MailboxFull`,
 * `NoConnection` or `Timeout` (no receipt in time).
 */
export const sendImportant = (
  kernel: Kernel,
  from: Proc | undefined,
  to: Address<any, any>,
  message: unknown,
  priority: Priority | undefined,
  timeout: CallTimeout | undefined
): Effect.Effect<void, any> =>
  Effect.suspend(() => {
    countOut(kernel, from)
    const proc = kernel.lookup(to)
    if (proc !== undefined || !kernel.isRemote(to)) {
      if (proc === undefined || proc.status >= EXITING) {
        return unknownTarget(to)
      }
      const error = kernel.enqueue(proc, message, priority ?? "normal")
      return error === undefined ? Effect.void : Effect.fail(error)
    }
    if (kernel.remote === undefined) {
      return Effect.fail(new NoConnection({ node: (to as Pid).node, reason: "distribution is not started" }))
    }
    return awaitReply(kernel, from, to, undefined, message, timeout, SEND_IMPORTANT, priority ?? "normal")
  })

/** Hot path of `call`: registers the pending call, enqueues the request, waits. */
const awaitReply = (
  kernel: Kernel,
  from: Proc | undefined,
  to: Address<any, any>,
  proc: Proc | undefined,
  request: unknown,
  timeout: CallTimeout | undefined,
  waiting: Waiting,
  priority: Priority = "normal",
  trace?: TraceContext
): Effect.Effect<any, any> =>
  Effect.async<any, any>((resume) => {
    const ref = kernel.makeRef()
    const entry: PendingCall = {
      resume,
      to,
      target: undefined,
      caller: undefined,
      remoteNode: undefined,
      cancelTimer: undefined,
      important: waiting === CALL_IMPORTANT,
      acked: false,
      deadline: Infinity,
      millis: Infinity,
      started: kernel.stats.timeCalls ? performance.now() : 0
    }
    kernel.stats.calls++
    const replyTo = from === undefined ? unsafeMake(Alias, kernel.name, ref.id, kernel.creation) : from.pid
    kernel.pending.set(ref.id, entry)
    if (proc === undefined) {
      entry.remoteNode = (to as Pid | Name).node
      const error = waiting === SEND_IMPORTANT
        ? kernel.remote!.sendImportant(replyTo, to as Pid | Alias | Name, ref, request, priority)
        : kernel.remote!.call(replyTo, to as Pid | Name, ref, request, waiting === CALL_IMPORTANT, trace)
      if (error !== undefined) {
        kernel.pending.delete(ref.id)
        return resume(Effect.fail(error))
      }
    } else {
      entry.target = proc
      entry.acked = true
      proc.callers++
      const reply = makeFrom(replyTo, ref)
      kernel.enqueue(
        proc,
        trace === undefined ? new CallEnvelope(request, reply) : new TracedCallEnvelope(request, reply, trace),
        "normal"
      )
    }
    const millis = toMillis(timeout ?? kernel.options.defaultCallTimeout)
    if (millis !== Infinity) {
      entry.millis = millis
      const now = kernel.options.clock.unsafeCurrentTimeMillis()
      entry.deadline = now + millis
      entry.cancelTimer = kernel.startCallTimer(now, millis, () => {
        entry.cancelTimer = undefined
        if (!forget(kernel, ref.id)) return
        kernel.stats.callsTimedOut++
        resume(Effect.fail(
          entry.important
            ? new Timeout({ target: labelOf(to), millis, delivered: entry.acked })
            : new Timeout({ target: labelOf(to), millis })
        ))
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

/**
 * The local callee of each call from another node, until it is answered: if the callee
 * ends first, the caller is told at once (`ProcessExited`), as a local caller is, instead
 * of waiting out its timeout. Keyed by the reply address, which the callee answers with.
 */
const remoteCallee = new WeakMap<From, Proc>()

/** A call from another node is in `proc`'s mailbox (see `remoteCallee`). */
export const trackRemoteCall = (proc: Proc, from: From): void => {
  remoteCallee.set(from, proc)
  ;(proc.remoteCallers ??= new Set()).add(from)
}

/** Routes a reply; a reply nobody waits for any more is dropped. */
export const replyTo = (kernel: Kernel, from: From, exit: Exit.Exit<unknown, unknown>): void => {
  if (from.ref.node !== kernel.name) {
    const callee = remoteCallee.get(from)
    if (callee !== undefined) {
      remoteCallee.delete(from)
      callee.remoteCallers?.delete(from)
    }
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
  if (entry.started > 0) kernel.stats.latency(performance.now() - entry.started)
  if (entry.deadline !== Infinity && kernel.options.clock.unsafeCurrentTimeMillis() >= entry.deadline) {
    kernel.stats.callsTimedOut++
    entry.resume(Effect.fail(new Timeout({ target: labelOf(entry.to), millis: entry.millis })))
    return
  }
  entry.resume(exit)
}

/** An important call is in its remote callee's mailbox. */
export const acknowledge = (kernel: Kernel, ref: Reference): void => {
  if (ref.creation !== kernel.creation) return
  const entry = kernel.pending.get(ref.id)
  if (entry !== undefined) entry.acked = true
}

/**
 * A process ended: the calls it was waiting on are dropped, and the calls waiting on it
 * fail now with `ProcessExited` rather than at their timeout.
 */
export const dropCallsOf = (kernel: Kernel, proc: Proc, reason: ExitReason): void => {
  if (proc.remoteCallers !== null) {
    const error = Exit.fail(new ProcessExited({ target: proc.label(), reason }))
    for (const from of proc.remoteCallers) {
      remoteCallee.delete(from)
      kernel.remote?.reply(from.ref, error)
    }
    proc.remoteCallers = null
  }
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
