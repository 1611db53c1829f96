/**
 * `sys:suspend` and `sys:resume`: stop a process taking messages (they keep queuing, none
 * is lost) and let it go on. What a code upgrade does to every process of a behaviour.
 * And `trace`/`untrace`/`traced` (`sys:trace`'s cousin): keep the last N messages a process
 * handled, to look at while it misbehaves.
 *
 * @since 0.2.0
 */
import { Duration, Effect, Schema } from "effect"
import { kernelOfPid, kernels } from "../Node/internal/kernel.js"
import { suspendAll } from "../Node/internal/suspend.js"
import { MAX_TRACE, setTrace } from "../Node/internal/trace.js"
import type { Pid } from "./Pid.js"

/**
 * A process could not be suspended (or resumed): it is not alive (`noproc`), it is on
 * another node (`remote`), it is the caller itself (`self`), or its handler did not
 * return within the timeout (`timeout`).
 *
 * @since 0.2.0
 * @category errors
 */
export class SuspendFailed extends Schema.TaggedError<SuspendFailed>("rain/Process/SuspendFailed")("SuspendFailed", {
  target: Schema.String,
  reason: Schema.Literal("noproc", "remote", "self", "timeout"),
  millis: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    switch (this.reason) {
      case "noproc":
        return `Cannot suspend or resume ${this.target}: it is not alive. Monitor it to learn when it goes away.`
      case "remote":
        return `Cannot suspend or resume ${this.target}: it runs on another node. Ask that node to do it.`
      case "self":
        return `${this.target} cannot suspend itself: it would wait for its own handler to return. Ask from another process or from the node.`
      case "timeout":
        return `${this.target} was still in a handler after ${this.millis}ms, so it was not suspended. ` +
          `Raise the timeout, or make the handler return sooner.`
    }
  }
}

/** The kernel and record of a live local process, or why there is none (`noproc` or `remote`). */
const localProc = (pid: Pid) => {
  const kernel = kernelOfPid(pid)
  if (kernel === undefined) return isForeign(pid) ? "remote" : "noproc"
  const proc = kernel.lookup(pid)
  return proc === undefined ? "noproc" : { kernel, proc }
}

/**
 * Suspends a local process (`sys:suspend`): messages sent to it keep queuing, in order,
 * and it handles none until `resume`. A process in a handler is suspended once the
 * handler returns, waiting at most `timeout` (default 5 seconds, as `sys`). A suspended
 * process still ends on an exit signal, and on its parent's.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Process } from "rain"
 *
 * const pause = (pid: Process.Pid) =>
 *   Process.suspend(pid).pipe(Effect.zipRight(Effect.sleep("1 second")), Effect.zipRight(Process.resume(pid)))
 * ```
 * @since 0.2.0
 * @category sys
 */
export const suspend = (
  pid: Pid,
  options?: { readonly timeout?: Duration.DurationInput | undefined }
): Effect.Effect<void, SuspendFailed> =>
  Effect.suspend(() => {
    const target = pid.toString()
    const found = localProc(pid)
    if (typeof found === "string") return Effect.fail(new SuspendFailed({ target, reason: found }))
    const { kernel, proc } = found
    const millis = Duration.toMillis(options?.timeout ?? Duration.seconds(5))
    return Effect.flatMap(suspendAll(kernel, [proc], millis), (result) => {
      if (result.suspended.length === 1) return Effect.void
      if (result.self.length === 1) return Effect.fail(new SuspendFailed({ target, reason: "self" }))
      if (result.busy.length === 1) return Effect.fail(new SuspendFailed({ target, reason: "timeout", millis }))
      return Effect.fail(new SuspendFailed({ target, reason: "noproc" }))
    })
  })

/** No node of this name and creation runs in this OS process. */
const isForeign = (pid: Pid): boolean => {
  for (const kernel of kernels.values()) if (kernel.name === pid.node) return false
  return true
}

/**
 * Resumes a process suspended with `suspend`: it handles the messages that queued, in
 * order. Resuming a process that is not suspended does nothing.
 *
 * @since 0.2.0
 * @category sys
 */
export const resume = (pid: Pid): Effect.Effect<void, SuspendFailed> =>
  Effect.suspend(() => {
    const target = pid.toString()
    const found = localProc(pid)
    if (typeof found === "string") return Effect.fail(new SuspendFailed({ target, reason: found }))
    const { kernel, proc } = found
    kernel.resume(proc)
    return Effect.void
  })

// --- message trace ------------------------------------------------------------------------

/**
 * A trace could not be turned on, off or read: the process is not alive (`noproc`), it is
 * on another node (`remote`), or `last` is not a whole number from 1 to 10000 (`invalid`).
 *
 * @since 0.2.0
 * @category errors
 */
export class TraceFailed extends Schema.TaggedError<TraceFailed>("rain/Process/TraceFailed")("TraceFailed", {
  target: Schema.String,
  reason: Schema.Literal("noproc", "remote", "invalid"),
  detail: Schema.optional(Schema.String)
}) {
  override get message(): string {
    switch (this.reason) {
      case "noproc":
        return `Cannot trace ${this.target}: it is not alive (a dead process's trace is gone with it).`
      case "remote":
        return `Cannot trace ${this.target} from here: it runs on another node. Ask that node (its control plane's Trace).`
      case "invalid":
        return `Cannot trace ${this.target}: ${this.detail ?? "bad options"}. Give { last: N } with N from 1 to ${MAX_TRACE}.`
    }
  }
}

/**
 * One message a traced process handled: when (node clock, millis), which handler took it
 * (`message`, `call` or `info`), and the message (a call's request) rendered on one line,
 * cut to 500 characters.
 *
 * @since 0.2.0
 * @category sys
 */
export interface TraceEntry {
  readonly at: number
  readonly kind: "message" | "call" | "info"
  readonly message: string
}

const traceTarget = (pid: Pid) => {
  const found = localProc(pid)
  return typeof found === "string" ? new TraceFailed({ target: pid.toString(), reason: found }) : found.proc
}

/**
 * Starts keeping the last `last` messages a local process handles (a ring buffer: the
 * oldest goes when it is full), rendered when handled. Off by default; calling it again
 * changes `last` and keeps the newest entries. Read them with `traced`, or in the observer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Process } from "rain"
 *
 * const lastTen = (pid: Process.Pid) =>
 *   Process.trace(pid, { last: 10 }).pipe(Effect.zipRight(Effect.sleep("5 seconds")), Effect.zipRight(Process.traced(pid)))
 * ```
 * @since 0.2.0
 * @category sys
 */
export const trace = (pid: Pid, options: { readonly last: number }): Effect.Effect<void, TraceFailed> =>
  Effect.suspend(() => {
    const last = options.last
    if (!Number.isInteger(last) || last < 1 || last > MAX_TRACE) {
      return Effect.fail(new TraceFailed({
        target: pid.toString(),
        reason: "invalid",
        detail: `last must be a whole number from 1 to ${MAX_TRACE}, got ${String(last)}`
      }))
    }
    const proc = traceTarget(pid)
    if (proc instanceof TraceFailed) return Effect.fail(proc)
    setTrace(proc, last)
    return Effect.void
  })

/**
 * Stops tracing a local process and forgets its trace. Untracing a process that is not
 * traced does nothing.
 *
 * @since 0.2.0
 * @category sys
 */
export const untrace = (pid: Pid): Effect.Effect<void, TraceFailed> =>
  Effect.suspend(() => {
    const proc = traceTarget(pid)
    if (proc instanceof TraceFailed) return Effect.fail(proc)
    setTrace(proc, 0)
    return Effect.void
  })

/**
 * The messages a traced local process handled, oldest first; `undefined` when tracing is off.
 *
 * @since 0.2.0
 * @category sys
 */
export const traced = (pid: Pid): Effect.Effect<ReadonlyArray<TraceEntry> | undefined, TraceFailed> =>
  Effect.suspend(() => {
    const proc = traceTarget(pid)
    if (proc instanceof TraceFailed) return Effect.fail(proc)
    return Effect.succeed(proc.trace === null ? undefined : proc.trace.entries())
  })
