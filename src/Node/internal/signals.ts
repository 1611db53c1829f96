/**
 * Links, monitors and exit signals, as Erlang has them: a link is two-way and carries an
 * exit signal when either end dies; a monitor is one-way and delivers exactly one `Down`;
 * a lost node fires every link and monitor across it with `noconnection`. The remote
 * entry points (`remoteLink`, `remoteDown`, ...) are what distribution calls, through
 * the `Local` seam (see `remote.ts`), for what arrives from other nodes.
 *
 * Hot path: `exitSignal` and `notifyExit` run for every linked or monitored process that
 * dies (supervision trees, crash storms); the rest is set-up.
 *
 * @internal
 */
import { Effect } from "effect"
import * as Reason from "../../Process/ExitReason.js"
import type { ExitReason } from "../../Process/ExitReason.js"
import { Down, Exit as ExitMessage, NodeDown, NodeUp } from "../../Process/Message.js"
import { Name, Pid } from "../../Process/Pid.js"
import type { Reference } from "../../Process/Pid.js"
import { failRemoteCalls } from "./calls.js"
import type { Kernel } from "./kernel.js"
import { ParentExit } from "./mailbox.js"
import { DEAD, EXITING, pidKey, Proc, RUNNING } from "./proc.js"

// ---------------------------------------------------------------------------
// Links

/** Links two local processes (both ends record the link). */
export const linkProcs = (a: Proc, b: Proc): void => {
  ;(a.links ??= new Map()).set(b, b)
  ;(b.links ??= new Map()).set(a, a)
}

/** `self` links to `pid`: local, remote (through distribution), or dead (`noproc` at once). */
export const link = (kernel: Kernel, self: Proc, pid: Pid): void => {
  if (pid.node === kernel.name && pid.id === self.id && pid.creation === kernel.creation) return
  const other = kernel.lookup(pid)
  if (other !== undefined && other.status < EXITING) return linkProcs(self, other)
  if (pid.node !== kernel.name) {
    ;(self.links ??= new Map()).set(pidKey(pid), pid)
    if (kernel.remote === undefined) exitSignal(kernel, self, pid, Reason.noconnection, true)
    else kernel.remote.link(self.pid, pid)
    return
  }
  // Linking to a dead local process: an exit signal noproc, as in Erlang.
  exitSignal(kernel, self, pid, Reason.noproc, true)
}

/** Removes a link, both ends (a remote end through distribution). */
export const unlink = (kernel: Kernel, self: Proc, pid: Pid): void => {
  const other = kernel.lookup(pid)
  if (other !== undefined) {
    self.links?.delete(other)
    other.links?.delete(self)
    return
  }
  if (pid.node !== kernel.name && self.links?.delete(pidKey(pid))) kernel.remote?.unlink(self.pid, pid)
}

/** A remote process linked to a local one; false if the local one is gone (answer `noproc`). */
export const remoteLink = (kernel: Kernel, remote: Pid, local: Pid): boolean => {
  const proc = kernel.lookup(local)
  if (proc === undefined || proc.status >= EXITING) return false
  ;(proc.links ??= new Map()).set(pidKey(remote), remote)
  return true
}

/** A remote process removed its link to a local one. */
export const remoteUnlink = (kernel: Kernel, remote: Pid, local: Pid): void => {
  kernel.lookup(local)?.links?.delete(pidKey(remote))
}

// ---------------------------------------------------------------------------
// Exit signals

/** Delivers an exit signal to `target` from `from`. */
export const exitSignal = (kernel: Kernel, target: Proc, from: Pid, reason: ExitReason, viaLink: boolean): void => {
  if (target.status === DEAD) return
  if (viaLink && target.links !== null) {
    const local = kernel.lookup(from)
    target.links.delete(local ?? pidKey(from))
  }
  if (reason._tag === "kill" && !viaLink) {
    kernel.exitProcess(target, Reason.killed, true)
    return
  }
  if (target.status === EXITING) return
  if (target.trapExit) {
    const parent = target.parent
    if (parent !== undefined && parent.id === from.id && parent.node === from.node && parent.creation === from.creation) {
      // From its parent: gen_server runs terminate with the reason and exits, rather than handle it.
      kernel.enqueueSystem(target, new ParentExit(from, reason))
      return
    }
    kernel.enqueueSystem(target, new ExitMessage({ from, reason }, true))
    return
  }
  if (reason._tag === "normal") {
    if (!viaLink && from.id === target.id && from.node === kernel.name && from.creation === kernel.creation) {
      kernel.exitProcess(target, reason)
    }
    return
  }
  kernel.exitProcess(target, reason)
}

/** An exit signal to any pid (from `exit/2`); `from` undefined is the node itself. */
export const exit = (kernel: Kernel, from: Proc | undefined, to: Pid, reason: ExitReason): void => {
  const fromPid = from?.pid ?? kernel.nodePid
  const target = kernel.lookup(to)
  if (target !== undefined) return exitSignal(kernel, target, fromPid, reason, false)
  if (to.node !== kernel.name) kernel.remote?.exit(fromPid, to, reason, false)
}

/**
 * `exit` as the Effect of `ctx.exit` and `node.exit`. A process that kills itself from its
 * own code (the caller's process, or the one whose handler is running now: one runs at a
 * time) stops there, as `exit(self(), kill)` does in Erlang: the rest of its handler does not run.
 */
export const exitEffect = (kernel: Kernel, from: Proc | undefined, to: Pid, reason: ExitReason): Effect.Effect<void> =>
  Effect.suspend(() => {
    const target = kernel.lookup(to)
    const own = target !== undefined && (target === from ? target.status < EXITING : target.status === RUNNING)
    exit(kernel, from, to, reason)
    return own && target.status >= EXITING ? Effect.interrupt : Effect.void
  })

/** An exit signal that arrived from another node; one via a link needs the link to exist here. */
export const remoteExitSignal = (kernel: Kernel, from: Pid, to: Pid, reason: ExitReason, viaLink: boolean): void => {
  const target = kernel.lookup(to)
  if (target === undefined) return
  if (viaLink && !target.links?.has(pidKey(from))) return
  exitSignal(kernel, target, from, reason, viaLink)
}

/**
 * A process died: its links get exit signals (local ones queued, delivered by the drain
 * loop in order), its monitors `Down`s, and what it monitored forgets it. Hot path.
 */
export const notifyExit = (kernel: Kernel, proc: Proc, reason: ExitReason): void => {
  if (proc.watching !== null) {
    for (const w of proc.watching.values()) {
      if (w.target instanceof Proc) w.target.watchers?.delete(w.ref.id)
      else kernel.remote?.demonitor(proc.pid, w.remoteTarget!, w.ref)
    }
  }
  if (proc.links !== null) {
    for (const other of proc.links.values()) {
      if (other instanceof Proc) {
        other.links?.delete(proc)
        // Asynchronous, as in Erlang, and so that a long chain of links cannot overflow the stack.
        kernel.queueSignal(other, proc.pid, reason)
      } else {
        kernel.remote?.exit(proc.pid, other, reason, true)
      }
    }
  }
  if (proc.watchers !== null) {
    for (const w of proc.watchers.values()) {
      if (w.watcher instanceof Proc) {
        w.watcher.watching?.delete(w.ref.id)
        kernel.enqueueSystem(w.watcher, new Down({ ref: w.ref, target: w.target, reason }, true))
      } else {
        kernel.remote?.down(w.watcher, w.ref, w.target, reason)
      }
    }
  }
}

/** Resolves when a local process has exited; `noproc` if it is not alive. */
export const awaitExit = (kernel: Kernel, pid: Pid): Effect.Effect<ExitReason> =>
  Effect.async<ExitReason>((resume) => {
    const proc = kernel.lookup(pid)
    if (proc === undefined || proc.status === DEAD) return resume(Effect.succeed(Reason.noproc))
    const listener = (dead: Proc, reason: ExitReason) => {
      if (dead === proc) {
        kernel.exitListeners.delete(listener)
        resume(Effect.succeed(reason))
      }
    }
    kernel.exitListeners.add(listener)
    return Effect.sync(() => kernel.exitListeners.delete(listener))
  })

// ---------------------------------------------------------------------------
// Monitors

/** `watcher` monitors a live local process, known to it `as` a pid or a name. */
export const monitorLocal = (kernel: Kernel, watcher: Proc, target: Proc, as: Pid | Name): Reference => {
  const ref = kernel.makeRef()
  ;(target.watchers ??= new Map()).set(ref.id, { ref, watcher, target: as })
  ;(watcher.watching ??= new Map()).set(ref.id, { ref, target, remoteTarget: undefined })
  return ref
}

/** `watcher` monitors a process or a name, local or remote; a dead or unreachable one gets its `Down` at once. */
export const monitor = (kernel: Kernel, watcher: Proc, target: Pid | Name | string): Reference => {
  const as: Pid | Name = typeof target === "string" ? new Name({ name: target, node: kernel.name }, true) : target
  const proc = kernel.lookup(target)
  if (proc !== undefined && proc.status < EXITING) return monitorLocal(kernel, watcher, proc, as)
  const ref = kernel.makeRef()
  if (as.node !== kernel.name) {
    if (kernel.remote === undefined) {
      kernel.enqueueSystem(watcher, new Down({ ref, target: as, reason: Reason.noconnection }, true))
    } else {
      ;(watcher.watching ??= new Map()).set(ref.id, { ref, target: as, remoteTarget: as })
      kernel.remote.monitor(watcher.pid, as, ref)
    }
    return ref
  }
  kernel.enqueueSystem(watcher, new Down({ ref, target: as, reason: Reason.noproc }, true))
  return ref
}

/** Removes a monitor `watcher` holds (a remote one through distribution); no `Down` follows. */
export const demonitor = (kernel: Kernel, watcher: Proc, ref: Reference): void => {
  const w = watcher.watching?.get(ref.id)
  if (w === undefined) return
  watcher.watching!.delete(ref.id)
  if (w.target instanceof Proc) w.target.watchers?.delete(ref.id)
  else kernel.remote?.demonitor(watcher.pid, w.remoteTarget!, ref)
}

/** A remote process monitors a local one; false means it is gone (answer `Down` noproc). */
export const remoteMonitor = (kernel: Kernel, watcher: Pid, target: Pid | Name, ref: Reference): boolean => {
  const proc = kernel.lookup(target)
  if (proc === undefined || proc.status >= EXITING) return false
  ;(proc.watchers ??= new Map()).set(ref.id, { ref, watcher, target })
  return true
}

/** Records that a local process monitors a remote one set up on the other side (remote spawn); false if the watcher is gone. */
export const adoptRemoteMonitor = (kernel: Kernel, watcher: Pid, target: Pid, ref: Reference): boolean => {
  const proc = kernel.lookup(watcher)
  if (proc === undefined || proc.status >= EXITING) return false
  ;(proc.watching ??= new Map()).set(ref.id, { ref, target, remoteTarget: target })
  return true
}

/** A remote watcher removed its monitor of a local process. */
export const remoteDemonitor = (kernel: Kernel, target: Pid | Name, ref: Reference): void => {
  kernel.lookup(target)?.watchers?.delete(ref.id)
}

/** A `Down` for a local watcher of a remote process. */
export const remoteDown = (kernel: Kernel, watcher: Pid, ref: Reference, target: Pid | Name, reason: ExitReason): void => {
  const proc = kernel.lookup(watcher)
  if (proc === undefined || proc.watching?.get(ref.id) === undefined) return
  proc.watching.delete(ref.id)
  kernel.enqueueSystem(proc, new Down({ ref, target, reason }, true))
}

// ---------------------------------------------------------------------------
// Nodes

/** Connection to `node` lost: every link, monitor and call across it fires with `noconnection`. */
export const nodeDown = (kernel: Kernel, node: string, reason: string): void => {
  for (const proc of Array.from(kernel.procs.values())) {
    if (proc.watching !== null) {
      for (const w of Array.from(proc.watching.values())) {
        if (w.remoteTarget !== undefined && w.remoteTarget.node === node) {
          proc.watching.delete(w.ref.id)
          kernel.enqueueSystem(proc, new Down({ ref: w.ref, target: w.remoteTarget, reason: Reason.noconnection }, true))
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
          exitSignal(kernel, proc, other, Reason.noconnection, false)
        }
      }
    }
  }
  failRemoteCalls(kernel, node, reason)
  const watchers = kernel.nodeWatchers.get(node)
  if (watchers !== undefined) for (const proc of watchers) kernel.enqueueSystem(proc, new NodeDown({ node, reason }, true))
  const any = kernel.nodeWatchers.get(anyNode)
  if (any !== undefined) for (const proc of any) kernel.enqueueSystem(proc, new NodeDown({ node, reason }, true))
}

/** The key under which `monitorNode("*")` watches every node (net_kernel:monitor_nodes). */
export const anyNode = "*"

/** Connection to `node` up: its node monitors hear of it. */
export const nodeUp = (kernel: Kernel, node: string): void => {
  const watchers = kernel.nodeWatchers.get(node)
  if (watchers !== undefined) for (const proc of watchers) kernel.enqueueSystem(proc, new NodeUp({ node }, true))
  const any = kernel.nodeWatchers.get(anyNode)
  if (any !== undefined) for (const proc of any) kernel.enqueueSystem(proc, new NodeUp({ node }, true))
}
