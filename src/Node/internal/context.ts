/**
 * The process context: the `ctx` every handler gets. Each method builds a small Effect
 * that acts on the kernel when run.
 *
 * @internal
 */
import type { Runtime } from "effect"
import { Duration, Effect, Exit } from "effect"
import type { Behaviour, CallTimeout, Priority, SpawnOptions } from "../../Process/Behaviour.js"
import type { Context, ImportantSendError, SendError, Timer } from "../../Process/Context.js"
import type { AlreadyRegistered, NameTaken } from "../../Process/errors.js"
import * as Reason from "../../Process/ExitReason.js"
import type { ExitReason } from "../../Process/ExitReason.js"
import type { From } from "../../Process/Message.js"
import { NodeDown } from "../../Process/Message.js"
import type { Address, Name, Pid, Reference } from "../../Process/Pid.js"
import { Alias, unsafeMake } from "../../Process/Pid.js"
import { spawnRemote } from "./distribution.js"
import { call, callImportant, replyTo, sendImportant } from "./calls.js"
import type { Kernel } from "./kernel.js"
import type { Proc } from "./proc.js"
import { anyNode, awaitExit, demonitor, exitEffect, link, monitor, unlink } from "./signals.js"
import { sendAfter } from "./timers.js"

/** The `ctx` handed to handlers; one per process, methods build small Effects. */
export class ProcessContext implements Context<any, any> {
  constructor(private readonly proc: Proc) {}

  get self(): Pid {
    return this.proc.pid
  }

  get node(): string {
    return this.proc.kernel.name
  }

  send(to: Address<any, any>, message: unknown, priority?: Priority): Effect.Effect<void, SendError> {
    if (this.proc.important) return this.sendImportant(to, message, { priority }) as Effect.Effect<void, SendError>
    return Effect.suspend(() => {
      const kernel = this.proc.kernel
      const error = kernel.send(this.proc, to, message, priority)
      return error === undefined ? kernel.remoteBackpressure(to) ?? Effect.void : Effect.fail(error)
    })
  }

  sendImportant(
    to: Address<any, any>,
    message: unknown,
    options?: { readonly priority?: Priority | undefined; readonly timeout?: CallTimeout | undefined }
  ): Effect.Effect<void, ImportantSendError> {
    return sendImportant(this.proc.kernel, this.proc, to, message, options?.priority, options?.timeout)
  }

  callImportant(to: Address<any, any>, request: unknown, timeout?: CallTimeout): Effect.Effect<any, any> {
    return callImportant(this.proc.kernel, this.proc, to, request, timeout)
  }

  call(to: Address<any, any>, request: unknown, timeout?: CallTimeout): Effect.Effect<any, any> {
    return call(this.proc.kernel, this.proc, to, request, timeout)
  }

  reply(from: From, value: unknown): Effect.Effect<void> {
    return Effect.sync(() => replyTo(this.proc.kernel, from, Exit.succeed(value)))
  }

  replyError(from: From, error: unknown): Effect.Effect<void> {
    return Effect.sync(() => replyTo(this.proc.kernel, from, Exit.fail(error)))
  }

  sendAfter(to: Address<any, any>, message: unknown, delay: Duration.DurationInput): Effect.Effect<Timer> {
    return Effect.sync(() => sendAfter(this.proc.kernel, this.proc, to, message, delay))
  }

  cancelTimer(timer: Timer): Effect.Effect<boolean> {
    return timer.cancel
  }

  spawn(behaviour: Behaviour<any, any, any, any, any, any>, args: unknown, options?: SpawnOptions): Effect.Effect<any, any> {
    return spawnEffect(this.proc.kernel, behaviour, args, options, this.proc.runtime, undefined, undefined, false)
  }

  spawnLink(behaviour: Behaviour<any, any, any, any, any, any>, args: unknown, options?: SpawnOptions): Effect.Effect<any, any> {
    return spawnEffect(this.proc.kernel, behaviour, args, options, this.proc.runtime, this.proc, undefined, false)
  }

  spawnMonitor(behaviour: Behaviour<any, any, any, any, any, any>, args: unknown, options?: SpawnOptions): Effect.Effect<any, any> {
    return spawnEffect(this.proc.kernel, behaviour, args, options, this.proc.runtime, undefined, this.proc, true)
  }

  spawnRemote(node: string, behaviour: string, args: unknown, options?: { readonly name?: string }) {
    return spawnRemote(this.proc.kernel, node, behaviour, args, { name: options?.name })
  }

  spawnRemoteLink(node: string, behaviour: string, args: unknown, options?: { readonly name?: string }) {
    return spawnRemote(this.proc.kernel, node, behaviour, args, { name: options?.name, link: this.proc.pid })
  }

  spawnRemoteMonitor(node: string, behaviour: string, args: unknown, options?: { readonly name?: string }) {
    return Effect.suspend(() => {
      const ref = this.proc.kernel.makeRef()
      return Effect.map(
        spawnRemote(this.proc.kernel, node, behaviour, args, { name: options?.name, monitor: [this.proc.pid, ref] }),
        (pid) => [pid, ref] as const
      )
    })
  }

  link(pid: Pid): Effect.Effect<void> {
    return Effect.sync(() => link(this.proc.kernel, this.proc, pid))
  }

  unlink(pid: Pid): Effect.Effect<void> {
    return Effect.sync(() => unlink(this.proc.kernel, this.proc, pid))
  }

  monitor(target: Pid | Name | string): Effect.Effect<Reference> {
    return Effect.sync(() => monitor(this.proc.kernel, this.proc, target))
  }

  demonitor(ref: Reference): Effect.Effect<void> {
    return Effect.sync(() => demonitor(this.proc.kernel, this.proc, ref))
  }

  exit(pid: Pid, reason: ExitReason): Effect.Effect<void> {
    return exitEffect(this.proc.kernel, this.proc, pid, reason)
  }

  awaitExit(pid: Pid): Effect.Effect<ExitReason> {
    return awaitExit(this.proc.kernel, pid)
  }

  trapExit(on: boolean): Effect.Effect<void> {
    return Effect.sync(() => {
      this.proc.trapExit = on
    })
  }

  register(name: string): Effect.Effect<void, NameTaken | AlreadyRegistered> {
    return Effect.suspend(() => {
      const error = this.proc.kernel.register(this.proc, name)
      return error === undefined ? Effect.void : Effect.fail(error)
    })
  }

  unregister(): Effect.Effect<void> {
    return Effect.sync(() => this.proc.kernel.unregister(this.proc))
  }

  alias(): Effect.Effect<Alias> {
    return Effect.sync(() => {
      const kernel = this.proc.kernel
      const id = kernel.nextRef++
      kernel.aliases.set(id, this.proc)
      ;(this.proc.aliases ??= []).push(id)
      return unsafeMake(Alias, kernel.name, id, kernel.creation)
    })
  }

  unalias(alias: Alias): Effect.Effect<boolean> {
    return Effect.sync(() => {
      const kernel = this.proc.kernel
      if (alias.node !== kernel.name || kernel.aliases.get(alias.id) !== this.proc) return false
      kernel.aliases.delete(alias.id)
      const i = this.proc.aliases!.indexOf(alias.id)
      if (i >= 0) this.proc.aliases!.splice(i, 1)
      return true
    })
  }

  stop(reason?: ExitReason): Effect.Effect<void> {
    return Effect.sync(() => {
      this.proc.stopReason ??= reason ?? Reason.normal
    })
  }

  setTimeout(after: Duration.DurationInput): Effect.Effect<void> {
    return Effect.sync(() => {
      this.proc.idleTimeout = Duration.toMillis(Duration.decode(after))
    })
  }

  get currentTimeMillis(): Effect.Effect<number> {
    const clock = this.proc.kernel.options.clock
    return Effect.sync(() => clock.unsafeCurrentTimeMillis())
  }

  monitorNode(node: string): Effect.Effect<void> {
    return Effect.sync(() => {
      const kernel = this.proc.kernel
      let set = kernel.nodeWatchers.get(node)
      if (set === undefined) kernel.nodeWatchers.set(node, (set = new Set()))
      set.add(this.proc)
      ;(this.proc.nodeWatches ??= new Set()).add(node)
      if (kernel.remote === undefined || !kernel.remote.isConnected(node)) {
        if (node !== kernel.name && node !== anyNode) {
          kernel.enqueueSystem(this.proc, new NodeDown({ node, reason: "not connected" }, true))
        }
      }
    })
  }

  demonitorNode(node: string): Effect.Effect<void> {
    return Effect.sync(() => {
      this.proc.kernel.nodeWatchers.get(node)?.delete(this.proc)
      this.proc.nodeWatches?.delete(node)
    })
  }
}

/** `spawn` as an Effect: synchronous when `init` is. */
export const spawnEffect = (
  kernel: Kernel,
  behaviour: Behaviour<any, any, any, any, any, any>,
  args: unknown,
  options: SpawnOptions | undefined,
  runtime: Runtime.Runtime<any>,
  link: Proc | undefined,
  monitor: Proc | undefined,
  withRef: boolean,
  parent?: Pid
): Effect.Effect<any, any> =>
  Effect.suspend(() => {
    let sync: Effect.Effect<any, any> | undefined
    let resumeLater: ((effect: Effect.Effect<any, any>) => void) | undefined
    kernel.spawn(behaviour, args, options, runtime, link, monitor, (exit, ref) => {
      const effect = exit._tag === "Success" ? Effect.succeed(withRef ? ([exit.value, ref] as const) : exit.value) : exit
      if (resumeLater !== undefined) resumeLater(effect)
      else sync = effect
    }, parent)
    if (sync !== undefined) return sync
    return Effect.async<any, any>((resume) => {
      resumeLater = resume
    })
  })

