/**
 * The control plane's server: an `RpcServer` of `Control.Rpcs` on a `SocketServer` fed by
 * the node's listener (see `controlSocket.ts` for why there), each connection authenticated
 * by the node handshake before a single rpc is read. Installed by `Node.start` on every node
 * with distribution; the handlers read the kernel directly (they run on the node).
 *
 * @internal
 */
import { RpcSerialization, RpcServer } from "@effect/rpc"
import * as SocketServer from "@effect/platform/SocketServer"
import type { Scope } from "effect"
import { Effect, FiberSet, Layer } from "effect"
import * as util from "node:util"
import * as Application from "../../Application/index.js"
import type { Behaviour } from "../../Process/Behaviour.js"
import * as Reason from "../../Process/ExitReason.js"
import type { Name, Pid } from "../../Process/Pid.js"
import type { NodeService } from "../../Node/index.js"
import type { Distribution } from "../../Node/internal/dist/connection.js"
import type { Kernel } from "../../Node/internal/kernel.js"
import type { Proc } from "../../Node/internal/proc.js"
import { statusName } from "../../Node/internal/proc.js"
import { setTrace } from "../../Node/internal/trace.js"
import * as Transport from "../../Transport/index.js"
import type { Duplex } from "../../Transport/internal/duplex.js"
import {
  ApplicationTree,
  Connection,
  NodeInfo,
  OperationFailed,
  ProcessDetail,
  ProcessNotFound,
  ProcessPage,
  ProcessRow,
  Rpcs,
  TreeNode
} from "../Control.js"
import type { SortBy } from "../Control.js"
import { sessionSocket } from "./controlSocket.js"
import * as Socket from "@effect/platform/Socket"

/** A rough size of one queued message, as the memory guard counts it. */
const BYTES_PER_MESSAGE = 64
/** A rough size of an idle process (see DESIGN.md, Performance). */
const BYTES_PER_PROCESS = 600
/** How many values the state estimate visits before it stops counting. */
const ESTIMATE_BUDGET = 2000

/** A bounded estimate of the bytes a value holds (visits at most `ESTIMATE_BUDGET` values). */
export const estimate = (value: unknown): number => {
  let budget = ESTIMATE_BUDGET
  const seen = new Set<object>()
  const walk = (v: unknown): number => {
    if (budget-- <= 0) return 0
    switch (typeof v) {
      case "string":
        return 16 + v.length * 2
      case "number":
      case "boolean":
      case "undefined":
      case "bigint":
      case "symbol":
        return 8
      case "function":
        return 32
    }
    if (v === null) return 8
    const o = v as object
    if (seen.has(o)) return 0
    seen.add(o)
    if (ArrayBuffer.isView(o)) return 64 + o.byteLength
    let total = 32
    if (o instanceof Map) {
      for (const [k, x] of o) total += walk(k) + walk(x)
    } else if (o instanceof Set || Array.isArray(o)) {
      for (const x of o) total += walk(x) + 8
    } else {
      for (const key of Object.keys(o)) total += 16 + key.length * 2 + walk((o as Record<string, unknown>)[key])
    }
    return total
  }
  return walk(value)
}

const mailboxOf = (proc: Proc): number =>
  (proc.urgent?.length ?? 0) + (proc.system?.length ?? 0) + proc.main.length + (proc.log?.length ?? 0)

const memoryOf = (proc: Proc): number => BYTES_PER_PROCESS + mailboxOf(proc) * BYTES_PER_MESSAGE + estimate(proc.state)

/** A process's handled count when the node last listed it, for its messages/s. */
interface Sample {
  readonly count: number
  readonly at: number
  /** The rate this sample was taken with, given again until the next sample. */
  readonly rate: number | null
}

/** Samples closer together than this give no rate (a figure over a few millis says nothing). */
const MIN_RATE_MILLIS = 200

/**
 * The messages-per-second figures of the process table, per node: the last sample of each
 * process listed, and the rate since it. A sample younger than `MIN_RATE_MILLIS` is kept
 * (not replaced), so that clients asking often, or several at once, still get a rate over
 * a useful interval; dead processes' samples are pruned at every listing.
 */
export class Rates {
  private readonly samples = new Map<number, Sample>()

  constructor(private readonly kernel: Kernel) {}

  /** The rate of a process since its sample (null without one), without taking a new sample. */
  peek(proc: Proc, now: number): number | null {
    const before = this.samples.get(proc.pid.id)
    if (before === undefined) return null
    if (now - before.at < MIN_RATE_MILLIS) return before.rate
    return Math.max(0, (proc.messagesIn - before.count) * 1000 / (now - before.at))
  }

  /** The rate of a process since its sample, and a new sample when the old one is old enough. */
  take(proc: Proc, now: number): number | null {
    const id = proc.pid.id
    const before = this.samples.get(id)
    if (before === undefined) {
      this.samples.set(id, { count: proc.messagesIn, at: now, rate: null })
      return null
    }
    if (now - before.at < MIN_RATE_MILLIS) return before.rate
    const rate = Math.max(0, (proc.messagesIn - before.count) * 1000 / (now - before.at))
    this.samples.set(id, { count: proc.messagesIn, at: now, rate })
    return rate
  }

  /** Forgets the samples of processes that are gone. */
  prune(): void {
    for (const id of this.samples.keys()) if (!this.kernel.procs.has(id)) this.samples.delete(id)
  }

  get size(): number {
    return this.samples.size
  }
}

const rowOf = (kernel: Kernel, proc: Proc, rate: number | null, memory?: number): ProcessRow =>
  new ProcessRow({
    pid: proc.pid.toString(),
    id: proc.pid.id,
    name: proc.name,
    behaviour: proc.behaviour.name,
    status: statusName(proc),
    mailbox: mailboxOf(proc),
    messagesIn: proc.messagesIn,
    rate,
    messagesOut: proc.messagesOut,
    memory: memory ?? memoryOf(proc),
    uptimeMillis: kernel.now() - proc.startedAt
  })

const PID_TEXT = /^<(.+)\.(\d+)\.(\d+)>$/

/** The live process a selector names: `<node.id.creation>`, an id, or a registered name. */
export const select = (kernel: Kernel, selector: string): Proc | undefined => {
  const text = selector.trim()
  const m = PID_TEXT.exec(text)
  if (m !== null) {
    if (m[1] !== kernel.name || Number(m[3]) !== kernel.creation) return undefined
    return kernel.procs.get(Number(m[2]))
  }
  if (/^\d+$/.test(text)) return kernel.procs.get(Number(text))
  return kernel.names.get(text)
}

const pidText = (p: Proc | Pid | Name): string =>
  "pid" in p && typeof (p as Proc).pid === "object" ? (p as Proc).pid.toString() : (p as Pid | Name).toString()

const render = (value: unknown, limit: number): { readonly text: string; readonly truncated: boolean } => {
  let text: string
  try {
    text = util.inspect(value, { depth: 4, breakLength: 120, maxArrayLength: 50, maxStringLength: limit })
  } catch (e) {
    text = `<cannot render: ${e instanceof Error ? e.message : String(e)}>`
  }
  return text.length > limit ? { text: text.slice(0, limit), truncated: true } : { text, truncated: false }
}

interface Listed {
  readonly proc: Proc
  readonly memory: number
  /** -1 when the process has no rate yet (it sorts last). */
  readonly rate: number
}

const compare = (sort: SortBy): ((a: Listed, b: Listed) => number) => {
  switch (sort) {
    case "pid":
      return (a, b) => a.proc.pid.id - b.proc.pid.id
    case "mailbox":
      return (a, b) => mailboxOf(b.proc) - mailboxOf(a.proc) || a.proc.pid.id - b.proc.pid.id
    case "messages":
      return (a, b) => b.proc.messagesIn - a.proc.messagesIn || a.proc.pid.id - b.proc.pid.id
    case "memory":
      return (a, b) => b.memory - a.memory || a.proc.pid.id - b.proc.pid.id
    case "rate":
      return (a, b) => b.rate - a.rate || a.proc.pid.id - b.proc.pid.id
    case "status":
      return (a, b) => b.proc.status - a.proc.status || a.proc.pid.id - b.proc.pid.id
  }
}

interface SupervisorStateLike {
  readonly spec: { readonly strategy: string }
  readonly restarts: ReadonlyArray<number>
  readonly children: ReadonlyArray<{
    readonly id: string
    readonly spec: { readonly type?: string | undefined; readonly restart?: string | undefined }
    readonly pid: Pid | undefined
    readonly restarts?: number | undefined
  }>
}

const isSupervisor = (proc: Proc): boolean => proc.behaviour.name.startsWith("Supervisor(")

/** The supervision tree under a supervisor, depth first. */
const treeOf = (kernel: Kernel, root: Pid): Array<TreeNode> => {
  const out: Array<TreeNode> = []
  const walk = (
    pid: Pid | undefined,
    depth: number,
    id: string,
    type: "worker" | "supervisor",
    restart: string,
    restarts: number
  ): void => {
    const proc = pid === undefined ? undefined : kernel.lookup(pid)
    const supervisor = proc !== undefined && isSupervisor(proc) ? (proc.state as SupervisorStateLike | undefined) : undefined
    out.push(
      new TreeNode({
        depth,
        id,
        pid: pid?.toString(),
        type: supervisor !== undefined ? "supervisor" : type,
        behaviour: proc?.behaviour.name ?? "",
        restart,
        restarts,
        strategy: supervisor?.spec.strategy
      })
    )
    if (supervisor === undefined || depth > 64) return
    for (const child of supervisor.children) {
      walk(
        child.pid,
        depth + 1,
        child.id,
        child.spec.type === "supervisor" ? "supervisor" : "worker",
        child.spec.restart ?? "permanent",
        child.restarts ?? 0
      )
    }
  }
  const proc = kernel.lookup(root)
  const state = proc !== undefined && isSupervisor(proc) ? (proc.state as SupervisorStateLike | undefined) : undefined
  walk(root, 0, "root", "supervisor", "permanent", state?.restarts.length ?? 0)
  return out
}

const exitReason = (text: string | undefined): Reason.ExitReason => {
  switch (text ?? "kill") {
    case "kill":
      return Reason.kill
    case "shutdown":
      return Reason.shutdown
    case "normal":
      return Reason.normal
    default:
      return Reason.error(text)
  }
}

const applications = (node: NodeService, kernel: Kernel, trees: boolean) =>
  Effect.map(Application.which(node), (apps) =>
    apps.map((a) =>
      new ApplicationTree({
        name: a.name,
        version: a.version,
        description: a.description,
        state: a.state,
        mode: a.mode,
        uptimeMillis: a.uptimeMillis,
        tree: trees && a.root !== undefined ? treeOf(kernel, a.root) : []
      })
    ))

/** The handlers of `Rpcs` on one node. */
const handlers = (node: NodeService, kernel: Kernel, dist: Distribution) => {
  const rates = new Rates(kernel)
  const spawnable = new Map<string, Behaviour<any, any, any, any, any, any>>()
  for (const b of dist.options.allowSpawn ?? []) spawnable.set(b.name, b as Behaviour<any, any, any, any, any, any>)
  const notFound = (process: string) => new ProcessNotFound({ node: kernel.name, process })
  const failed = (operation: string, reason: string) => new OperationFailed({ node: kernel.name, operation, reason })
  return Rpcs.of({
    Ping: () => Effect.sync(() => ({ node: kernel.name, creation: kernel.creation, time: kernel.now() })),
    Info: () =>
      Effect.gen(function*() {
        const metrics = yield* node.metrics
        const connections = yield* node.connections
        return new NodeInfo({
          node: kernel.name,
          creation: kernel.creation,
          address: node.address,
          uptimeMillis: metrics.uptimeMillis,
          processCount: metrics.processCount,
          registeredNames: metrics.registeredNames,
          messagesIn: metrics.messagesIn,
          messagesOut: metrics.messagesOut,
          messageRate: metrics.messageRate,
          memoryUsage: metrics.memoryUsage,
          droppedMessages: metrics.droppedMessages,
          maxNodes: Number.isFinite(connections.maxNodes) ? connections.maxNodes : -1,
          connections: connections.peers.map((c) => new Connection({ ...c })),
          spawnable: Array.from(spawnable.keys())
        })
      }),
    Processes: (request) =>
      Effect.sync(() => {
        const sort = request.sort ?? "pid"
        const offset = request.offset ?? 0
        const limit = request.limit ?? 50
        const name = request.name?.toLowerCase()
        const behaviour = request.behaviour?.toLowerCase()
        const rows: Array<Listed> = []
        const now = kernel.now()
        rates.prune()
        for (const proc of kernel.procs.values()) {
          if (name !== undefined && !(proc.name?.toLowerCase().includes(name) || proc.pid.toString().includes(name))) continue
          if (behaviour !== undefined && !proc.behaviour.name.toLowerCase().includes(behaviour)) continue
          rows.push({
            proc,
            memory: sort === "memory" ? memoryOf(proc) : 0,
            rate: sort === "rate" ? rates.take(proc, now) ?? -1 : 0
          })
        }
        // Oldest first is the table's order already (ids grow); only other sorts sort.
        if (sort !== "pid") rows.sort(compare(sort))
        return new ProcessPage({
          total: kernel.procs.size,
          matched: rows.length,
          offset,
          processes: rows.slice(offset, offset + limit).map((r) =>
            rowOf(
              kernel,
              r.proc,
              sort === "rate" ? (r.rate < 0 ? null : r.rate) : rates.take(r.proc, now),
              sort === "memory" ? r.memory : undefined
            )
          )
        })
      }),
    Process: (request) =>
      Effect.suspend((): Effect.Effect<ProcessDetail, ProcessNotFound> => {
        const proc = select(kernel, request.process)
        if (proc === undefined) return Effect.fail(notFound(request.process))
        const limit = request.stateLimit ?? 4096
        const state = statusName(proc) === "init" ? { text: "<initialising>", truncated: false } : render(proc.state, limit)
        const describe = proc.behaviour.describe
        let described: string | undefined = undefined
        if (describe !== undefined && statusName(proc) !== "init") {
          // A behaviour's describe is user code: its failure is told, not thrown at the rpc server.
          try {
            described = render(describe(proc.state), limit).text
          } catch (e) {
            described = `<describe failed: ${e instanceof Error ? e.message : String(e)}>`
          }
        }
        return Effect.succeed(
          new ProcessDetail({
            row: rowOf(kernel, proc, rates.peek(proc, kernel.now())),
            mailboxLanes: {
              urgent: proc.urgent?.length ?? 0,
              system: proc.system?.length ?? 0,
              main: proc.main.length,
              log: proc.log?.length ?? 0
            },
            links: proc.links === null ? [] : Array.from(proc.links.values(), pidText),
            monitors: proc.watching === null ? [] : Array.from(proc.watching.values(), (w) => pidText(w.target)),
            monitoredBy: proc.watchers === null ? [] : Array.from(proc.watchers.values(), (w) => pidText(w.watcher)),
            trapExit: proc.trapExit,
            parent: proc.parent?.toString(),
            state: state.text,
            stateTruncated: state.truncated,
            detail: described,
            trace: proc.trace === null ? undefined : { last: proc.trace.last, entries: proc.trace.entries() }
          })
        )
      }),
    Trace: (request) =>
      Effect.suspend((): Effect.Effect<void, ProcessNotFound> => {
        const proc = select(kernel, request.process)
        if (proc === undefined) return Effect.fail(notFound(request.process))
        setTrace(proc, request.last)
        return Effect.void
      }),
    Tree: () => applications(node, kernel, true),
    WhichApplications: () => applications(node, kernel, false),
    StartApplication: (request) =>
      Effect.suspend(() => {
        const spec = dist.options.allowApplications?.find((a) => a.name === request.name)
        return Application.start(node, spec ?? request.name, request.mode).pipe(
          Effect.map((pid) => pid.toString()),
          Effect.mapError((e) =>
            failed(
              `start application ${request.name}`,
              e._tag === "ApplicationNotLoaded"
                ? "it is neither loaded on the node nor in its network.allowApplications"
                : e.message
            )
          )
        )
      }),
    StopApplication: (request) =>
      Application.stop(node, request.name).pipe(
        Effect.mapError(() => failed(`stop application ${request.name}`, "no application of that name is loaded on the node"))
      ),
    Spawn: (request) =>
      Effect.suspend((): Effect.Effect<string, OperationFailed> => {
        const behaviour = spawnable.get(request.behaviour)
        if (behaviour === undefined) {
          const allowed = Array.from(spawnable.keys())
          return Effect.fail(failed(
            `spawn ${request.behaviour}`,
            `it is not in the node's network.allowSpawn list (${allowed.length === 0 ? "empty" : allowed.join(", ")})`
          ))
        }
        return node.spawn(behaviour, request.args, request.name === undefined ? undefined : { name: request.name }).pipe(
          Effect.map((pid) => pid.toString()),
          Effect.mapError((e) => failed(`spawn ${request.behaviour}`, e.message))
        ) as Effect.Effect<string, OperationFailed>
      }),
    Exit: (request) =>
      Effect.suspend((): Effect.Effect<void, ProcessNotFound> => {
        const proc = select(kernel, request.process)
        if (proc === undefined) return Effect.fail(notFound(request.process))
        const pid = proc.pid
        const reason = exitReason(request.reason)
        return node.exit(pid, reason).pipe(
          Effect.zipRight(
            reason._tag === "kill" ? Effect.timeout(node.awaitExit(pid), "5 seconds").pipe(Effect.ignore) : Effect.void
          )
        )
      }),
    Send: (request) =>
      Effect.suspend((): Effect.Effect<void, ProcessNotFound | OperationFailed> => {
        const proc = select(kernel, request.process)
        if (proc === undefined) return Effect.fail(notFound(request.process))
        return node.trySend(proc.pid, request.message).pipe(
          Effect.mapError((e) => failed(`send to ${request.process}`, e.message))
        )
      })
  })
}

/**
 * Starts the control plane of a node: returns what the listener calls with a control
 * client's connection (after its preamble). The scope stops it and its connections.
 */
export const serve = (
  node: NodeService,
  kernel: Kernel,
  dist: Distribution
): Effect.Effect<(duplex: Duplex) => void, never, Scope.Scope> =>
  Effect.gen(function*() {
    let onSocket: ((socket: Socket.Socket) => Effect.Effect<unknown, unknown, unknown>) | undefined
    const socketServer = SocketServer.SocketServer.of({
      address: { _tag: "TcpAddress", hostname: node.address, port: node.port },
      run: (handler) => {
        onSocket = handler as (socket: Socket.Socket) => Effect.Effect<unknown, unknown, unknown>
        return Effect.never
      }
    })
    yield* Layer.build(
      RpcServer.layer(Rpcs, { disableTracing: true }).pipe(
        Layer.provide(Rpcs.toLayer(handlers(node, kernel, dist))),
        Layer.provide(RpcServer.layerProtocolSocketServer),
        Layer.provide(RpcSerialization.layerMsgPack),
        Layer.provide(Layer.succeed(SocketServer.SocketServer, socketServer))
      )
    )
    const run = yield* FiberSet.makeRuntime<never>()
    const noReconnect = Effect.fail(new Socket.SocketGenericError({ reason: "Open", cause: new Error("closed") }))
    return (duplex: Duplex) => {
      run(
        Transport.handshake(duplex, "acceptor", {
          name: kernel.name,
          cookie: dist.options.cookie,
          creation: kernel.creation,
          maxMessageSize: dist.maxFrame
        }).pipe(
          Effect.flatMap((session) =>
            onSocket === undefined
              ? session.close
              : Effect.ignore(onSocket(sessionSocket(session, noReconnect)) as Effect.Effect<unknown, unknown>)
          ),
          // A refused handshake is already logged by the handshake (with its reason).
          Effect.ignore,
          Effect.annotateLogs({ node: kernel.name, control: duplex.remoteAddress })
        )
      )
    }
  })
