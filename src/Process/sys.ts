/**
 * `sys:suspend` and `sys:resume`: stop a process taking messages (they keep queuing, none
 * is lost) and let it go on. What a code upgrade does to every process of a behaviour.
 *
 * @since 0.2.0
 */
import { Duration, Effect, Schema } from "effect"
import { kernels } from "../Node/internal/kernel.js"
import { suspendAll } from "../Node/internal/suspend.js"
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

const kernelFor = (pid: Pid) => kernels.get(`${pid.node}/${pid.creation}`)

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
    const kernel = kernelFor(pid)
    const target = pid.toString()
    if (kernel === undefined) {
      return Effect.fail(new SuspendFailed({ target, reason: isForeign(pid) ? "remote" : "noproc" }))
    }
    const proc = kernel.lookup(pid)
    if (proc === undefined) return Effect.fail(new SuspendFailed({ target, reason: "noproc" }))
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
    const kernel = kernelFor(pid)
    const target = pid.toString()
    if (kernel === undefined) {
      return Effect.fail(new SuspendFailed({ target, reason: isForeign(pid) ? "remote" : "noproc" }))
    }
    const proc = kernel.lookup(pid)
    if (proc === undefined) return Effect.fail(new SuspendFailed({ target, reason: "noproc" }))
    kernel.resume(proc)
    return Effect.void
  })
