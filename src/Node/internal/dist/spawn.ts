/**
 * Remote spawn and remote application start, both ways: asking another node to spawn one
 * of the behaviours it allows (optionally linked to or monitored by a local process from
 * the start) or to start one of its allowed applications, and answering such requests
 * here. Each request waits for its SPAWNED answer, or fails when the connection goes.
 *
 * @internal
 */
import { Cause, Exit } from "effect"
import type { Behaviour, SpawnOptions } from "../../../Process/Behaviour.js"
import { SpawnRefused } from "../../../Process/errors.js"
import * as Reason from "../../../Process/ExitReason.js"
import { Pid } from "../../../Process/Pid.js"
import type { Reference } from "../../../Process/Pid.js"
import { render } from "../reports.js"
import type { Distribution } from "./connection.js"
import type { SpawnedFrame, SpawnRequest } from "./frames.js"
import { APP_START, SPAWN, SPAWNED } from "./frames.js"

/** A remote spawn (or application start) waiting for its answer. */
interface PendingSpawn {
  readonly node: string
  readonly behaviour: string
  readonly resolve: (exit: Exit.Exit<Pid, unknown>) => void
  readonly link?: Pid | undefined
  readonly monitor?: readonly [Pid, Reference] | undefined
}

/** Why a spawn failed, in words for the spawner on the other node. */
const whyNot = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "None") return Cause.pretty(cause)
  const error = failure.value
  return error instanceof Error ? error.message : typeof error === "string" ? error : render(error)
}

/** The remote spawns of one node's distribution. */
export class Spawns {
  private readonly pending = new Map<number, PendingSpawn>()
  private readonly allow = new Map<string, Behaviour<any, any, any, any, any, any>>()
  private nextId = 1

  constructor(private readonly dist: Distribution) {
    for (const b of dist.options.allowSpawn ?? []) this.allow.set(b.name, b as Behaviour<any, any, any, any, any, any>)
  }

  /** Asks `node` to spawn `behaviour`; resolves with the pid or the refusal. */
  spawn(node: string, behaviour: string, args: unknown, options: SpawnRequest): Promise<Exit.Exit<Pid, unknown>> {
    const id = this.nextId++
    const wire: { name?: string; link?: Pid; monitor?: readonly [Pid, Reference] } = {}
    if (options.name !== undefined) wire.name = options.name
    if (options.link !== undefined) wire.link = options.link
    if (options.monitor !== undefined) wire.monitor = options.monitor
    const frame = this.dist.check(node, [SPAWN, id, behaviour, args, wire], 3)
    if (frame instanceof Error) return Promise.resolve(Exit.fail(frame))
    return new Promise((resolve) => {
      this.pending.set(id, { node, behaviour, resolve, link: options.link, monitor: options.monitor })
      this.dist.peers.enqueue(node, frame)
    })
  }

  /** Asks a node to start one of its allowed applications; resolves with undefined or why not. */
  startApplication(node: string, name: string): Promise<string | undefined> {
    const id = this.nextId++
    return new Promise((resolve) => {
      this.pending.set(id, {
        node,
        behaviour: name,
        resolve: (exit) =>
          resolve(exit._tag === "Success" ? undefined : exit.cause._tag === "Fail" ? (exit.cause.error as SpawnRefused).reason : "failed")
      })
      this.dist.peers.enqueue(node, [APP_START, id, name])
    })
  }

  /** The answer to one of our requests. */
  spawned(frame: SpawnedFrame): void {
    const [, id, ok, value] = frame
    const pending = this.pending.get(id)
    if (pending === undefined) return
    this.pending.delete(id)
    if (ok === true && value instanceof Pid) this.adopt(value, pending.link, pending.monitor)
    pending.resolve(
      ok === true
        ? Exit.succeed(value as Pid)
        : Exit.fail(new SpawnRefused({ node: pending.node, behaviour: pending.behaviour, reason: String(value) }))
    )
  }

  /** The connection to `node` is gone: its pending requests fail. */
  fail(node: string, reason: string): void {
    for (const [id, pending] of Array.from(this.pending)) {
      if (pending.node !== node) continue
      this.pending.delete(id)
      pending.resolve(Exit.fail(new SpawnRefused({ node, behaviour: pending.behaviour, reason: `no connection (${reason})` })))
    }
  }

  /** A peer asks this node to spawn `name`; answered with SPAWNED. */
  spawnHere(node: string, id: number, name: string, args: unknown, options: SpawnRequest | null): void {
    const dist = this.dist
    const answer = (ok: boolean, value: unknown) => dist.peers.enqueue(node, [SPAWNED, id, ok, value], false)
    const behaviour = this.allow.get(name)
    if (behaviour === undefined) return answer(false, `${name} is not in this node's allowSpawn list`)
    const spawnOptions: SpawnOptions | undefined = typeof options?.name === "string" ? { name: options.name } : undefined
    const link = options?.link instanceof Pid ? options.link : undefined
    const monitor = Array.isArray(options?.monitor) ? options.monitor : undefined
    // `done` runs as init completes, before the new process handles any message: the link
    // and monitor exist before it can exit, and the answer leaves before any signal of it.
    dist.local.spawn(behaviour, args, spawnOptions, (exit) => {
      if (exit._tag === "Failure") return answer(false, whyNot(exit.cause))
      const pid = exit.value
      const linked = link !== undefined && dist.local.link(link, pid)
      const monitored = monitor !== undefined && dist.local.monitor(monitor[0], pid, monitor[1])
      answer(true, pid)
      if (link !== undefined && !linked) dist.exit(pid, link, Reason.noproc, true)
      if (monitor !== undefined && !monitored) dist.down(monitor[0], monitor[1], pid, Reason.noproc)
    }, link)
  }

  /** A peer asks this node to start one of its allowed applications; answered with SPAWNED. */
  startApplicationHere(node: string, id: number, name: string): void {
    const dist = this.dist
    const answer = (ok: boolean, value: unknown) => dist.peers.enqueue(node, [SPAWNED, id, ok, value], false)
    const spec = dist.options.allowApplications?.find((app) => app.name === name)
    if (spec === undefined) return answer(false, `${name} is not in this node's allowApplications list`)
    if (dist.startApplication === undefined) return answer(false, "this node cannot start applications")
    dist.startApplication(spec).then((error) => (error === undefined ? answer(true, null) : answer(false, error)))
  }

  /** The spawner's half of a link or monitor made by a remote spawn; undone if the spawner is gone. */
  private adopt(pid: Pid, link: Pid | undefined, monitor: readonly [Pid, Reference] | undefined): void {
    const dist = this.dist
    if (link !== undefined && !dist.local.link(pid, link)) dist.exit(link, pid, Reason.noproc, true)
    if (monitor !== undefined && !dist.local.adoptMonitor(monitor[0], pid, monitor[1])) {
      dist.demonitor(monitor[0], pid, monitor[1])
    }
  }
}
