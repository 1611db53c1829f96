/**
 * The kernel as distribution sees it: the `Local` interface of `remote.ts`, implemented
 * over the kernel's process table, calls and signals. `dist/` calls only this.
 *
 * Hot path: `send`, `call` and `reply` run for every message, call and reply that
 * arrives from another node; each is one lookup and one enqueue.
 *
 * @internal
 */
import type { Exit } from "effect"
import { MailboxFull, ProcessUnknown } from "../../Process/errors.js"
import type { Alias, Name, Pid, Reference } from "../../Process/Pid.js"
import { acknowledge, completeCall, makeFrom, trackRemoteCall } from "./calls.js"
import type { Kernel } from "./kernel.js"
import type { TraceContext } from "./mailbox.js"
import { CallEnvelope, TracedCallEnvelope } from "./mailbox.js"
import { EXITING } from "./proc.js"
import type { Local } from "./remote.js"
import {
  adoptRemoteMonitor,
  nodeDown,
  nodeUp,
  remoteDemonitor,
  remoteDown,
  remoteExitSignal,
  remoteLink,
  remoteMonitor,
  remoteUnlink
} from "./signals.js"

/** The `Local` of a kernel (one per node, made when distribution starts). */
export const makeLocal = (kernel: Kernel): Local => {
  const clock = kernel.options.clock
  return {
    name: kernel.name,
    creation: kernel.creation,
    send: (to, message, priority) => {
      // already accepted by its sender: never refused for memory (see Kernel.deliver)
      const error = kernel.deliver(to, message, priority)
      return error instanceof MailboxFull ? error : undefined
    },
    call: (from: Pid | Alias, to: Pid | Name, ref: Reference, request: unknown, trace?: TraceContext) => {
      const proc = kernel.lookup(to)
      if (proc === undefined || proc.status >= EXITING) return new ProcessUnknown({ target: to.toString() })
      const replyTo = makeFrom(from, ref)
      const envelope = trace === undefined ? new CallEnvelope(request, replyTo) : new TracedCallEnvelope(request, replyTo, trace)
      const error = kernel.enqueue(proc, envelope, "normal")
      if (error instanceof MailboxFull) return error
      trackRemoteCall(proc, replyTo)
      return undefined
    },
    deliver: (to, message, priority) => {
      const proc = kernel.lookup(to)
      if (proc === undefined || proc.status >= EXITING) return new ProcessUnknown({ target: to.toString() })
      const error = kernel.enqueue(proc, message, priority)
      return error instanceof MailboxFull ? error : undefined
    },
    reply: (ref, exit: Exit.Exit<unknown, unknown>) => completeCall(kernel, ref, exit),
    ack: (ref) => acknowledge(kernel, ref),
    link: (remote, local) => remoteLink(kernel, remote, local),
    unlink: (remote, local) => remoteUnlink(kernel, remote, local),
    exit: (from, to, reason, viaLink) => remoteExitSignal(kernel, from, to, reason, viaLink),
    monitor: (watcher, target, ref) => remoteMonitor(kernel, watcher, target, ref),
    adoptMonitor: (watcher, target, ref) => adoptRemoteMonitor(kernel, watcher, target, ref),
    demonitor: (target, ref) => remoteDemonitor(kernel, target, ref),
    down: (watcher, ref, target, reason) => remoteDown(kernel, watcher, ref, target, reason),
    spawn: (behaviour, args, options, done, parent) =>
      kernel.spawn(behaviour, args, options, kernel.options.runtime, undefined, undefined, done, parent),
    nodeUp: (node) => nodeUp(kernel, node),
    nodeDown: (node, reason) => nodeDown(kernel, node, reason),
    startTimer: (millis, task) => kernel.startTimer(millis, task),
    now: () => clock.unsafeCurrentTimeMillis()
  }
}
