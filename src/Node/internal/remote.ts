/**
 * The seam between the local kernel and distribution, both ways. `Remote` is what the
 * kernel calls for any address on another node (the distribution layer implements it);
 * `Local` is what the distribution layer calls on this node for what arrives (`local.ts`
 * implements it over the kernel). Without distribution, `Kernel.remote` is undefined and
 * remote targets behave as unreachable nodes (`noconnection`).
 *
 * @internal
 */
import type { Exit } from "effect"
import type { Behaviour, Priority, SpawnOptions } from "../../Process/Behaviour.js"
import type { MailboxFull, ProcessUnknown } from "../../Process/errors.js"
import type { ExitReason } from "../../Process/ExitReason.js"
import type { Alias, Name, Pid, Reference } from "../../Process/Pid.js"
import type { TraceContext } from "./mailbox.js"

/** What a remote spawn may ask besides the behaviour: a name, a link and a monitor set up before the answer. */
export interface SpawnRequest {
  readonly name?: string | undefined
  readonly link?: Pid | undefined
  readonly monitor?: readonly [Pid, Reference] | undefined
}

/** The outbound half: what the kernel asks of distribution. */
export interface Remote {
  /** Queues a message for a remote address; returns an error to give the sender, or undefined. */
  send(from: Pid | undefined, to: Pid | Alias | Name, message: unknown, priority: Priority): unknown | undefined
  /**
   * Queues a call; the reply (or failure) comes back through `Local.reply(ref, exit)`. An
   * `important` call is acknowledged as soon as it is in the callee's mailbox (`Local.ack`).
   */
  call(
    from: Pid | Alias,
    to: Pid | Name,
    ref: Reference,
    request: unknown,
    important?: boolean,
    trace?: TraceContext
  ): unknown | undefined
  /**
   * Queues an important message (Ergo's SendImportant): the receiving node answers through
   * `Local.reply(ref, exit)` once the message is in the target's mailbox, or with why not.
   */
  sendImportant(from: Pid | Alias, to: Pid | Alias | Name, ref: Reference, message: unknown, priority: Priority): unknown | undefined
  /** Sends a reply to a remote caller. */
  reply(ref: Reference, exit: Exit.Exit<unknown, unknown>): void
  /** `local` links to `remote`; if the link cannot be made, the kernel gets an exit signal `noconnection`/`noproc`. */
  link(local: Pid, remote: Pid): void
  unlink(local: Pid, remote: Pid): void
  /** An exit signal from a local process (or from a link ending) to a remote one. */
  exit(from: Pid, to: Pid, reason: ExitReason, viaLink: boolean): void
  /** `watcher` monitors a remote process or name; `Down` comes back through `Local.down`. */
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
    options: SpawnRequest
  ): Promise<Exit.Exit<Pid, unknown>>
  /** Whether the connection to `node` is backed up (Erlang's busy distribution port). */
  busy(node: string): boolean
  /** Calls `callback` once the connection to `node` is no longer busy (or is gone). */
  whenReady(node: string, callback: () => void): void
  /** Whether a connection to `node` is up (node monitors; up and down come through `Local.nodeUp`/`nodeDown`). */
  isConnected(node: string): boolean
}

/**
 * The inbound half of the seam: what the distribution layer may call on the local node
 * for what arrives from other nodes (implemented over the kernel in `local.ts`). Nothing
 * else of the kernel is visible to `dist/`.
 */
export interface Local {
  /** This node's name and incarnation. */
  readonly name: string
  readonly creation: number
  /**
   * Delivers a message from another node; a dead or unknown target drops it, as in Erlang.
   * Returns the refusal of a full mailbox (the distribution layer counts and logs it).
   */
  send(to: Pid | Alias | Name, message: unknown, priority: Priority): MailboxFull | undefined
  /**
   * Delivers a call from another node; the reply leaves through `Remote.reply`. Returns the
   * error to answer at once (no such process, full mailbox), or undefined once enqueued.
   */
  call(
    from: Pid | Alias,
    to: Pid | Name,
    ref: Reference,
    request: unknown,
    trace?: TraceContext
  ): ProcessUnknown | MailboxFull | undefined
  /**
   * Delivers an important message from another node: the error to answer with (no such
   * process, full mailbox), or undefined once it is in the mailbox.
   */
  deliver(to: Pid | Alias | Name, message: unknown, priority: Priority): ProcessUnknown | MailboxFull | undefined
  /** Completes a local call with the reply (or failure) that came back from another node. */
  reply(ref: Reference, exit: Exit.Exit<unknown, unknown>): void
  /** An important call from this node is in the remote callee's mailbox. */
  ack(ref: Reference): void
  /** A remote process links to a local one; false if the local one is gone (answer an exit `noproc`). */
  link(remote: Pid, local: Pid): boolean
  unlink(remote: Pid, local: Pid): void
  /** An exit signal from a remote process (via a link, or `exit/2`). */
  exit(from: Pid, to: Pid, reason: ExitReason, viaLink: boolean): void
  /** A remote process monitors a local one; false if the local one is gone (answer `Down` noproc). */
  monitor(watcher: Pid, target: Pid | Name, ref: Reference): boolean
  /** The local half of a monitor set up by a remote spawn; false if the watcher is gone. */
  adoptMonitor(watcher: Pid, target: Pid, ref: Reference): boolean
  demonitor(target: Pid | Name, ref: Reference): void
  /** A monitored remote process went down. */
  down(watcher: Pid, ref: Reference, target: Pid | Name, reason: ExitReason): void
  /**
   * Spawns a behaviour another node asked for; `done` runs as `init` completes, before the
   * new process handles any message. `parent` is the remote spawner of a linked spawn.
   */
  spawn(
    behaviour: Behaviour<any, any, any, any, any, any>,
    args: unknown,
    options: SpawnOptions | undefined,
    done: (exit: Exit.Exit<Pid, unknown>) => void,
    parent?: Pid
  ): void
  /** The connection to `node` is up / lost (links, monitors and calls across it fire). */
  nodeUp(node: string): void
  nodeDown(node: string, reason: string): void
  /** Runs `task` after `millis` of the node's Clock time (TestClock in tests); returns a cancel function. */
  startTimer(millis: number, task: () => void): () => void
  /** The node's Clock time in milliseconds. */
  now(): number
}
