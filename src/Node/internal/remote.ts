/**
 * The seam between the local kernel and distribution. The kernel calls these for any
 * address on another node; the distribution layer implements them and calls back into
 * the kernel (`Kernel.deliver`, `Kernel.remoteExitSignal`, ...) for what arrives.
 * Without distribution, `Kernel.remote` is undefined and remote targets behave as
 * unreachable nodes (`noconnection`).
 *
 * @internal
 */
import type { Exit } from "effect"
import type { Priority, SpawnOptions } from "../../Process/Behaviour.js"
import type { ExitReason } from "../../Process/ExitReason.js"
import type { Alias, Name, Pid, Reference } from "../../Process/Pid.js"

export interface Remote {
  /** Queues a message for a remote address; returns an error to give the sender, or undefined. */
  send(from: Pid | undefined, to: Pid | Alias | Name, message: unknown, priority: Priority): unknown | undefined
  /** Queues a call; the reply (or failure) comes back through `Kernel.completeCall(ref, exit)`. */
  call(from: Pid | Alias, to: Pid | Name, ref: Reference, request: unknown): unknown | undefined
  /** Sends a reply to a remote caller. */
  reply(ref: Reference, exit: Exit.Exit<unknown, unknown>): void
  /** `local` links to `remote`; if the link cannot be made, the kernel gets an exit signal `noconnection`/`noproc`. */
  link(local: Pid, remote: Pid): void
  unlink(local: Pid, remote: Pid): void
  /** An exit signal from a local process (or from a link ending) to a remote one. */
  exit(from: Pid, to: Pid, reason: ExitReason, viaLink: boolean): void
  /** `watcher` monitors a remote process or name; `Down` comes back through `Kernel.remoteDown`. */
  monitor(watcher: Pid, target: Pid | Name, ref: Reference): void
  demonitor(watcher: Pid, target: Pid | Name, ref: Reference): void
  /** Tells a remote watcher that a local process it monitors went down. */
  down(watcher: Pid, ref: Reference, target: Pid | Name, reason: ExitReason): void
  /**
   * Spawns on a remote node by registered behaviour name (allowlisted there), linked to
   * `link` and monitored by `monitor` (watcher, reference) from the start when given.
   */
  spawn(
    node: string,
    behaviour: string,
    args: unknown,
    options: SpawnOptions & { readonly link?: Pid | undefined; readonly monitor?: readonly [Pid, Reference] | undefined }
  ): Promise<Exit.Exit<Pid, unknown>>
  /** Whether the connection to `node` is backed up (Erlang's busy distribution port). */
  busy(node: string): boolean
  /** Calls `callback` once the connection to `node` is no longer busy (or is gone). */
  whenReady(node: string, callback: () => void): void
  /** Node monitoring: the kernel keeps the watchers; distribution reports up/down through `Kernel.nodeEvent`. */
  isConnected(node: string): boolean
}
