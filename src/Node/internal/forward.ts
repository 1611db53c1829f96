/**
 * Forwarding for pools and router processes: hands a message, or a call with its caller's
 * reply address, to another process so that the worker answers the caller directly (no
 * second hop on the way back, as `gen_server` does when a process passes `From` along).
 *
 * A forwarded call also moves the caller's bookkeeping from the forwarder to the worker:
 * a local caller's pending entry now waits on the worker (it fails at once with
 * `ProcessExited` if the worker dies, or `NoConnection` if the worker's node goes away),
 * and a remote caller is answered with `ProcessExited` by the worker's exit, not the
 * forwarder's. Without that, a caller whose worker crashed would wait out its timeout.
 *
 * Hot path: `forward` runs once per message through a pool; it allocates the envelope only.
 *
 * @internal
 */
import type { From } from "../../Process/Message.js"
import type { Name, Pid } from "../../Process/Pid.js"
import type { MailboxFull } from "../../Process/errors.js"
import { ProcessUnknown } from "../../Process/errors.js"
import { trackRemoteCall } from "./calls.js"
import type { Kernel } from "./kernel.js"
import { kernelOfPid } from "./kernel.js"
import { CallEnvelope } from "./mailbox.js"
import type { Proc } from "./proc.js"
import { EXITING, RUNNING, WAITING } from "./proc.js"

/** The kernel and process record of the process whose pid this is (a handler's `ctx.self`). */
export const procOf = (self: Pid): { readonly kernel: Kernel; readonly proc: Proc } => {
  const kernel = kernelOfPid(self)
  const proc = kernel?.lookup(self)
  if (kernel === undefined || proc === undefined) throw new Error(`rain: ${self} is not a live local process`)
  return { kernel, proc }
}

/** Whether `pid` is a live process on the kernel's node, or on another node. */
export const isAlive = (kernel: Kernel, pid: Pid): boolean => {
  if (pid.node !== kernel.name) return true
  const proc = kernel.lookup(pid)
  return proc !== undefined && proc.status < EXITING
}

/**
 * What least-busy compares: the messages queued in a worker's main mailbox lane, plus one
 * while a handler runs. A remote worker's mailbox is not visible from here; it counts as
 * empty unless its connection is backed up, when it counts as full (`Infinity`).
 */
export const depth = (kernel: Kernel, pid: Pid): number => {
  if (pid.node !== kernel.name) return kernel.remote?.busy(pid.node) === true ? Infinity : 0
  const proc = kernel.lookup(pid)
  if (proc === undefined || proc.status >= EXITING) return Infinity
  return proc.main.length + (proc.status === RUNNING || proc.status === WAITING ? 1 : 0)
}

/** Whether a local worker's bounded mailbox has no room (a remote one never looks full from here). */
export const isFull = (kernel: Kernel, pid: Pid): boolean => {
  if (pid.node !== kernel.name) return false
  const proc = kernel.lookup(pid)
  return proc === undefined || proc.status >= EXITING || proc.main.length >= proc.mailboxSize
}

/** Result of a forward: placed, refused because the worker is full or gone, or an error for the sender (encoding). */
export const PLACED = 0
export const FULL = 1
export type Outcome = typeof PLACED | typeof FULL | { readonly error: unknown }

/**
 * Hands `message` (or, with `from`, the call `message` from that caller) to `worker`. With
 * `handOff` false the caller's bookkeeping stays with the forwarder (a call forwarded to
 * several routees at once: the first reply wins). Hot path.
 */
export const forward = (
  kernel: Kernel,
  self: Proc,
  worker: Pid | Name | string,
  message: unknown,
  from: From | undefined,
  handOff = true
): Outcome => {
  if (typeof worker !== "string" && worker.node !== kernel.name) {
    const remote = kernel.remote
    if (remote === undefined) return FULL
    const error = from === undefined
      ? remote.send(self.pid, worker, message, "normal")
      : remote.call(from.to, worker, from.ref, message, false)
    if (error !== undefined) return { error }
    if (from !== undefined && handOff) handOver(kernel, self, undefined, worker.node, from)
    self.messagesOut++
    kernel.totalOut++
    return PLACED
  }
  const proc = kernel.lookup(worker)
  if (proc === undefined || proc.status >= EXITING || proc.main.length >= proc.mailboxSize) return FULL
  kernel.enqueue(proc, from === undefined ? message : new CallEnvelope(message, from), "normal")
  if (from !== undefined && handOff) handOver(kernel, self, proc, undefined, from)
  self.messagesOut++
  kernel.totalOut++
  return PLACED
}

/**
 * Waits for room in a local worker's full mailbox, in line with the other senders waiting
 * there; the message is enqueued when its turn comes. Calls `done(true)` once it is in the
 * mailbox, `done(false)` if the worker ended first; returns a cancel function (timeout).
 */
export const whenRoom = (
  kernel: Kernel,
  self: Proc,
  worker: Pid,
  message: unknown,
  from: From | undefined,
  done: (placed: boolean) => void
): () => void => {
  const proc = kernel.lookup(worker)
  if (proc === undefined || proc.status >= EXITING) {
    done(false)
    return () => {}
  }
  const waiter = {
    message: from === undefined ? message : new CallEnvelope(message, from),
    resume: () => {
      // the kernel resumes waiters without enqueuing when the process exits
      const placed = proc.status < EXITING
      if (placed && from !== undefined) handOver(kernel, self, proc, undefined, from)
      if (placed) {
        self.messagesOut++
        kernel.totalOut++
      }
      done(placed)
    }
  }
  ;(proc.waiters ??= []).push(waiter)
  return () => {
    const i = proc.waiters?.indexOf(waiter) ?? -1
    if (i >= 0) proc.waiters!.splice(i, 1)
  }
}

/** Moves a forwarded call's bookkeeping from the forwarder (`self`) to the worker (see the header). */
const handOver = (kernel: Kernel, self: Proc, worker: Proc | undefined, workerNode: string | undefined, from: From): void => {
  const ref = from.ref
  if (ref.node === kernel.name) {
    if (ref.creation !== kernel.creation) return
    const entry = kernel.pending.get(ref.id)
    if (entry === undefined || entry.target !== self) return
    self.callers--
    entry.target = worker
    if (worker !== undefined) worker.callers++
    else entry.remoteNode = workerNode
    return
  }
  if (self.remoteCallers?.delete(from) === true && worker !== undefined) trackRemoteCall(worker, from)
}

/** Why a local routee refused a forward (`FULL`): it is gone, or its mailbox is full. */
export const refusal = (kernel: Kernel, worker: Pid | Name | string): ProcessUnknown | MailboxFull => {
  const proc = kernel.lookup(worker)
  return proc === undefined || proc.status >= EXITING
    ? new ProcessUnknown({ target: String(worker) })
    : kernel.mailboxFull(proc)
}
