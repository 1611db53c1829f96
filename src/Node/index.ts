/**
 * A node: the process table, the name registry and (with distribution) the network.
 * `Node.start` gives a scoped node; closing the scope stops every process, newest
 * first, with reason `shutdown`.
 *
 * @since 0.1.0
 */
import type { Scope } from "effect"
import { Context, Deferred, Duration, Effect, FiberRef, Layer, LogLevel, Option, Runtime, Schema } from "effect"
import type { Any, Behaviour, CallTimeout, FailureOf, Priority, SpawnOptions, SuccessOf } from "../Process/Behaviour.js"
import type { ImportantSendError, SendError } from "../Process/Context.js"
import type { AlreadyRegistered, CallError, NameTaken, SpawnError } from "../Process/errors.js"
import type { ExitReason } from "../Process/ExitReason.js"
import type { Address, Pid, Ref } from "../Process/Pid.js"
import type * as Application from "../Application/index.js"
import type { NoConnection, NotDistributed, SpawnRefused } from "../Process/errors.js"
import { call as callProcess, callImportant, sendImportant } from "./internal/calls.js"
import { spawnEffect } from "./internal/context.js"
import type { Distribution } from "./internal/dist/connection.js"
import { networkService, startDistribution } from "./internal/distribution.js"
import { attachKernel, Kernel } from "./internal/kernel.js"
import { withNodeLogging } from "./internal/logging.js"
import { BYTES_PER_PROCESS, mailboxBytes } from "./internal/memory.js"
import type { Proc } from "./internal/proc.js"
import { statusName } from "./internal/proc.js"
import { KernelScheduler } from "./internal/scheduler.js"
import { awaitExit, exitEffect } from "./internal/signals.js"
import { runMain as internalRunMain } from "./internal/runMain.js"
import { Node } from "./Service.js"
import type { NodeDown } from "../Process/Message.js"
import { remoteStarter, startApplications } from "./internal/applications.js"
import { serve as serveControl } from "../Rpc/internal/controlServer.js"
import type { Connections, NetworkError, NetworkOptions } from "./NetworkOptions.js"
import type { ApplicationNotRunning, InvalidBehaviour, UpgradeFailed } from "../Code/errors.js"
import { upgradeApplication as upgradeApp } from "../Code/internal/application.js"
import { upgrade as upgradeBehaviours } from "../Code/internal/upgrade.js"
import type { ApplicationUpgradeReport, UpgradeOptions, UpgradeReport } from "../Code/types.js"
export {
  /**
   * Re-exported from the Process module (`Process.NotDistributed`).
   *
   * @since 0.1.0
   * @category errors
   */
  NotDistributed,
  /**
   * Re-exported from the Process module (`Process.SpawnRefused`).
   *
   * @since 0.1.0
   * @category errors
   */
  SpawnRefused
} from "../Process/errors.js"
export {
  /**
   * Re-exported from the Message module (`Message.TypeNotRegistered`).
   *
   * @since 0.1.0
   * @category errors
   */
  TypeNotRegistered
} from "../Message/errors.js"
export type {
  /**
   * Re-exported from the Message module.
   *
   * @since 0.1.0
   * @category models
   */
  WireClass
} from "../Message/internal/codec.js"
export {
  /**
   * Re-exported from `./NetworkOptions`.
   *
   * @since 0.1.0
   * @category errors
   */
  NetworkError
} from "./NetworkOptions.js"
export type {
  /**
   * Re-exported from `./NetworkOptions`.
   *
   * @since 0.2.0
   * @category models
   */
  ConnectionInfo,
  /**
   * Re-exported from `./NetworkOptions`.
   *
   * @since 0.2.0
   * @category models
   */
  Connections,
  /**
   * Re-exported from `./NetworkOptions`.
   *
   * @since 0.1.0
   * @category models
   */
  NetworkOptions,
  /**
   * Re-exported from `./NetworkOptions`.
   *
   * @since 0.1.0
   * @category models
   */
  SpawnableBehaviour
} from "./NetworkOptions.js"

/**
 * Node options; every field is optional. The names follow Ergo's `gen.NodeOptions`.
 *
 * @since 0.1.0
 * @category models
 */
export interface NodeOptions {
  readonly process?: {
    /** Default bound of each process's main mailbox lane (default: unbounded). */
    readonly mailboxSize?: number | undefined
    /** Largest message that may cross the network, in bytes (default 64 MiB). */
    readonly maxMessageSize?: number | undefined
    /** How long `spawn` waits for an asynchronous `init` (default 5 s). */
    readonly spawnTimeout?: CallTimeout | undefined
    /** Default `call` timeout (default 5 s, as in OTP). */
    readonly callTimeout?: CallTimeout | undefined
    /**
     * How long stopping the node waits for its processes to finish (`terminate`, or a handler
     * that is running) before it kills the rest with `killed` and logs one warning naming
     * them (default 30 s). Supervisors still apply each child's own `shutdown` within it.
     *
     * @since 0.2.0
     */
    readonly shutdownTimeout?: Duration.DurationInput | undefined
  } | undefined
  readonly log?: {
    /**
     * Minimum level of the node's processes. Default: the level of the Effect that starts
     * the node (Effect's default is "Info"), so a `Logger.withMinimumLogLevel` around
     * `Node.start` is honoured.
     */
    readonly level?: LogLevel.Literal | undefined
    /**
     * "text" (default), "json", "logfmt" or "pretty". It replaces Effect's default logger;
     * a `Logger` of your own (the default replaced or removed) is kept as it is, alone.
     */
    readonly format?: "text" | "json" | "logfmt" | "pretty" | undefined
    /**
     * Where the lines go: "stdout" (default, the console),
     * "stderr", or `{ file }`, appended to and closed when the node stops. An output other
     * than stdout is written even beside a `Logger` of your own.
     *
     * @example
     * ```ts
     * Node.start("app@localhost", { log: { format: "json", output: { file: "/var/log/app.log" } } })
     * ```
     * @since 0.2.0
     */
    readonly output?: "stdout" | "stderr" | { readonly file: string } | undefined
    /**
     * Crash reports (a process that fails: pid, name, behaviour, reason, the message it was
     * handling) and supervisor reports (restarts, giving up), as OTP's logger writes them.
     * Default true; false silences them.
     *
     * @since 0.2.0
     */
    readonly crashReports?: boolean | undefined
    /**
     * At most this many reports per second per node (default 20); past it, one line says
     * how many were suppressed, so that a crash storm does not become a logging storm.
     *
     * @since 0.2.0
     */
    readonly reportsPerSecond?: number | undefined
  } | undefined
  readonly limits?: {
    /** Spawning past this fails with `TooManyProcesses` (default 10,000,000). */
    readonly maxProcesses?: number | undefined
    /**
     * A ceiling, in bytes, on the memory of the node (V8's used heap plus Buffers, sampled
     * every `memoryCheckInterval`). Above it the node sheds load instead of dying: `spawn`
     * and sends to its processes (`ctx.send`, `node.trySend`) fail with `MemoryLimit`,
     * `node.send` waits, and a warning names the largest mailboxes; below 90% it accepts
     * again. Messages already accepted are kept. Default: no limit.
     *
     * @example
     * ```ts
     * Node.start("app@localhost", { limits: { maxMemory: 8 * 1024 ** 3 } }) // 8 GiB
     * ```
     * @since 0.2.0
     */
    readonly maxMemory?: number | undefined
    /**
     * How often the memory is sampled when `maxMemory` is set (default 1 second, Clock time).
     *
     * @since 0.2.0
     */
    readonly memoryCheckInterval?: Duration.DurationInput | undefined
  } | undefined
  /** The incarnation number; a fresh random one by default. */
  readonly creation?: number | undefined
  /**
   * Each `call` becomes a span through the Effect `Tracer` in the node's environment (for
   * example `rain/Telemetry`'s `layerTracing`), and its trace context (trace id, span id,
   * sampled) travels with the request, also to other nodes: the callee's handler runs
   * under a child span, so one trace shows a request crossing nodes. Default false: an
   * untraced call pays nothing for it.
   *
   * @since 0.2.0
   */
  readonly tracing?: boolean | undefined
  /**
   * Applications to start with the node, in dependency order (see `Application`);
   * they stop in reverse order before the node's other processes.
   */
  readonly applications?: ReadonlyArray<Application.Spec> | undefined
  /** Distribution: listen, cookie, routes/registrar, allowSpawn, wire messages. Without it the node is alone. */
  readonly network?: NetworkOptions | undefined
}

/**
 * The part of an `Application.Spec` that names it and its dependencies.
 *
 * @since 0.1.0
 * @category models
 */
export interface ApplicationLike {
  readonly name: string
  readonly dependencies?: ReadonlyArray<string> | undefined
}

/**
 * The node name is not of the form `name@host`.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidNodeName extends Schema.TaggedError<InvalidNodeName>()("InvalidNodeName", {
  name: Schema.String
}) {
  override get message(): string {
    return `"${this.name}" is not a node name: use name@host, e.g. "demo@localhost" (letters, digits, _ - . only).`
  }
}

/**
 * A node option has a value it cannot take.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidNodeOption extends Schema.TaggedError<InvalidNodeOption>()("InvalidNodeOption", {
  option: Schema.String,
  value: Schema.Unknown,
  expected: Schema.String
}) {
  override get message(): string {
    return `Node option ${this.option} is ${String(this.value)}: it must be ${this.expected}.`
  }
}

/**
 * What `info` tells about a process.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProcessInfo {
  readonly pid: Pid
  readonly status: "init" | "idle" | "scheduled" | "running" | "waiting" | "suspended" | "exiting" | "dead"
  readonly behaviour: string
  readonly name: string | undefined
  readonly mailbox: { readonly urgent: number; readonly system: number; readonly main: number; readonly log: number }
  readonly messagesIn: number
  readonly messagesOut: number
  readonly links: ReadonlyArray<Pid>
  /** Processes this one monitors. */
  readonly monitors: number
  /** Processes that monitor this one. */
  readonly monitoredBy: number
  readonly trapExit: boolean
  readonly uptimeMillis: number
  /**
   * What the behaviour's `describe` says of its state: a state machine's current state, a
   * pool's connections, a server's address. Undefined without `describe` (and during `init`).
   */
  readonly detail?: unknown
}

/**
 * Node-wide figures, the kind Ergo's `gen.NodeInfo` reports.
 *
 * @since 0.1.0
 * @category models
 */
export interface Metrics {
  readonly processCount: number
  readonly registeredNames: number
  readonly messagesIn: number
  readonly messagesOut: number
  /**
   * Messages handled per second over about the last second: since the node's newest
   * message-count sample at least 1 s old (samples are taken at most once a second, when
   * the node works or this is read), or since the start for a younger node.
   */
  readonly messageRate: number
  /**
   * Messages handled per second over about the last 10 seconds (10-11 s), as `messageRate`.
   *
   * @since 0.2.0
   */
  readonly messageRate10s: number
  /** The OS process's used V8 heap in bytes (all nodes and everything else in it); see `memoryBreakdown`. */
  readonly memoryUsage: number
  /**
   * Memory split as well as a node can tell it: its processes (count times an estimated
   * idle size), its mailboxes (estimated), and the whole OS process's heap and rss.
   *
   * @since 0.2.0
   */
  readonly memoryBreakdown: MemoryBreakdown
  readonly uptimeMillis: number
  /**
   * Messages from other nodes this node dropped, by cause: refused by a full mailbox
   * (`mailboxFull`), or not decodable here (`undecodable`: a class this node does not
   * know, or a value its schema rejects here). Each drop is also logged, at most once a
   * second per target (or per type and peer). Zero without network.
   */
  readonly droppedMessages: DroppedMessages
  /**
   * The memory limit's figures (`limits.maxMemory`; undefined without one): the last
   * sample, the limit, whether the node is shedding load, and the node's estimate of the
   * bytes its mailboxes hold.
   *
   * @since 0.2.0
   */
  readonly memory?: {
    readonly sampled: number
    readonly limit: number
    readonly shedding: boolean
    readonly mailboxBytes: number
  } | undefined
}

/**
 * A node's memory, split as well as it can tell (see {@link Metrics}). The first two are
 * this node's estimates; `heapUsed` and `rss` are the whole OS process's, shared by every
 * node and library in it.
 *
 * @since 0.2.0
 * @category models
 */
export interface MemoryBreakdown {
  /** Live processes times `bytesPerProcess`. */
  readonly processesBytes: number
  /** The heap an idle process takes, as `npm run bench` measures it (`spawn.bytes_per_process`); state is extra. */
  readonly bytesPerProcess: number
  /** Messages queued in this node's mailboxes times a rough 64 bytes each. */
  readonly mailboxBytes: number
  /** The OS process's used V8 heap (`process.memoryUsage().heapUsed`). */
  readonly heapUsed: number
  /** The OS process's resident set size (`process.memoryUsage().rss`). */
  readonly rss: number
}

/**
 * Messages from other nodes a node dropped, by cause (see {@link Metrics}).
 *
 * @since 0.2.0
 * @category models
 */
export interface DroppedMessages {
  /** Messages from other nodes refused by a full mailbox here (their senders are not told). */
  readonly mailboxFull: number
  /** Messages, calls and replies from other nodes that did not decode here (schema or unknown class). */
  readonly undecodable: number
}

/**
 * A running node.
 *
 * @since 0.1.0
 * @category models
 */
export interface NodeService {
  readonly name: string
  readonly creation: number
  /** Spawns a process; its handlers get the services `R` from the spawning Effect. */
  spawn<S, A, M, Q, E, R>(
    behaviour: Behaviour<S, A, M, Q, E, R>,
    args: A,
    options?: SpawnOptions
  ): Effect.Effect<Ref<M, Q>, SpawnError, R>
  /** Sends a message; waits for room when the mailbox is bounded and full (backpressure). */
  send<M>(to: Address<M, any>, message: NoInfer<M>, priority?: Priority): Effect.Effect<void, SendError>
  /** Sends a message; fails with `MailboxFull` instead of waiting. */
  trySend<M>(to: Address<M, any>, message: NoInfer<M>, priority?: Priority): Effect.Effect<void, SendError>
  /**
   * Sends a message and completes once it is in the target's mailbox (local or remote), or
   * fails with why not (see `ctx.sendImportant`).
   */
  sendImportant<M>(
    to: Address<M, any>,
    message: NoInfer<M>,
    options?: { readonly priority?: Priority | undefined; readonly timeout?: CallTimeout | undefined }
  ): Effect.Effect<void, ImportantSendError>
  /** A call acknowledged once the request is in the callee's mailbox (see `ctx.callImportant`). */
  callImportant<Q, R extends Q>(
    to: Address<any, Q>,
    request: R,
    timeout?: CallTimeout
  ): Effect.Effect<SuccessOf<R>, FailureOf<R> | CallError>
  /** Calls a process from plain Effect code and waits for the reply. */
  call<Q, R extends Q>(to: Address<any, Q>, request: R, timeout?: CallTimeout): Effect.Effect<SuccessOf<R>, FailureOf<R> | CallError>
  /** Sends an exit signal to a process (`kill` cannot be trapped). */
  exit(pid: Pid, reason: ExitReason): Effect.Effect<void>
  /** Waits until a process has exited and returns why (`noproc` if it was not alive). */
  awaitExit(pid: Pid): Effect.Effect<ExitReason>
  whereis(name: string): Effect.Effect<Option.Option<Pid>>
  register(name: string, pid: Pid): Effect.Effect<void, NameTaken | AlreadyRegistered | CallError>
  unregister(name: string): Effect.Effect<boolean>
  registered: Effect.Effect<ReadonlyArray<string>>
  info(pid: Pid): Effect.Effect<Option.Option<ProcessInfo>>
  /** All live processes, oldest first. */
  processes: Effect.Effect<ReadonlyArray<ProcessInfo>>
  metrics: Effect.Effect<Metrics>
  /** Stops every process (newest first, reason `shutdown`) and the node. */
  stop: Effect.Effect<void>
  /** Completes when the node has stopped. */
  wait: Effect.Effect<void>
  /** Connects to a node now (sends connect on first use anyway). */
  connect(node: string): Effect.Effect<void, NoConnection | NotDistributed>
  /** Closes the connection to a node; its links and monitors fire with `noconnection`. */
  disconnect(node: string): Effect.Effect<void>
  /** The connected nodes. */
  nodes: Effect.Effect<ReadonlyArray<string>>
  /**
   * The connections that are up, each with the peer's creation and address, which side
   * dialled, since when, and frames and bytes in and out; with the count against
   * `network.maxNodes`.
   */
  connections: Effect.Effect<Connections>
  /** Completes with `NodeDown` when the connection to `node` is lost (at once if it is not connected). */
  monitorNode(node: string): Effect.Effect<NodeDown>
  /** Spawns a behaviour that `node` allows (`network.allowSpawn`) there; returns the new pid. */
  spawnRemote(
    node: string,
    behaviour: string,
    args: unknown,
    options?: { readonly name?: string | undefined }
  ): Effect.Effect<Pid, SpawnRefused | NotDistributed>
  /** Starts an application that `node` allows (`network.allowApplications`) there. */
  startRemoteApplication(node: string, application: string): Effect.Effect<void, SpawnRefused | NotDistributed>
  /**
   * Hot code upgrade (OTP's release handling for one behaviour): suspends every local
   * process running `from` (the behaviour, or its name), migrates each one's state with
   * `to.codeChange(from.version, state, extra)`, swaps its handlers and resumes it; the
   * supervisors' child specs name `to` from then on. All or nothing: if a process cannot be
   * suspended or its migration fails, none is upgraded and the call fails with
   * `UpgradeFailed`. Messages that arrive meanwhile are handled afterwards by the new code.
   * A process started on the old code while the upgrade waits for a busy one is not part of
   * it (a warning is logged): upgrade again.
   *
   * @since 0.2.0
   */
  upgrade<S, A, M, Q, E, R>(
    from: Any | string,
    to: Behaviour<S, A, M, Q, E, R>,
    extra?: unknown,
    options?: UpgradeOptions
  ): Effect.Effect<UpgradeReport, UpgradeFailed | InvalidBehaviour>
  /**
   * Upgrades a running application to a new spec (same name): the behaviours that changed
   * in its tree are upgraded (as `upgrade`, all at once), then children the new spec adds
   * are started and those it removes are stopped, and the application keeps the new spec.
   *
   * @since 0.2.0
   */
  upgradeApplication(
    spec: Application.Spec,
    extra?: unknown,
    options?: UpgradeOptions
  ): Effect.Effect<ApplicationUpgradeReport, UpgradeFailed | InvalidBehaviour | ApplicationNotRunning>
  /** The port the node listens on (0 without network, or on a transport without ports). */
  readonly port: number
  /** The transport address the node listens on (`127.0.0.1:4370`, `memory:3`; "" without network). */
  readonly address: string
}

export {
  /**
   * The node as a service.
   *
   * @since 0.1.0
   * @category tags
   */
  Node
} from "./Service.js"

const nodeNamePattern = /^[A-Za-z0-9_.-]+@[A-Za-z0-9_.:-]+$/

const liveClock = Effect.runSync(Effect.clock)

/**
 * Why the applications given to `Node.start` could not start.
 *
 * @since 0.1.0
 * @category errors
 */
export type ApplicationStartError =
  | Application.NotLoaded
  | Application.AlreadyStarted
  | Application.DependencyNotRunning
  | Application.StartFailed
  | Application.MissingDependency
  | Application.DependencyCycle

/** Builds the info record of a process. */
const infoOf = (kernel: Kernel, proc: Proc): ProcessInfo => ({
  pid: proc.pid,
  status: statusName(proc),
  behaviour: proc.behaviour.name,
  name: proc.name,
  mailbox: {
    urgent: proc.urgent?.length ?? 0,
    system: proc.system?.length ?? 0,
    main: proc.main.length,
    log: proc.log?.length ?? 0
  },
  messagesIn: proc.messagesIn,
  messagesOut: proc.messagesOut,
  links: proc.links === null ? [] : Array.from(proc.links.values(), (p) => ("pid" in p ? (p as Proc).pid : (p as Pid))),
  monitors: proc.watching?.size ?? 0,
  monitoredBy: proc.watchers?.size ?? 0,
  trapExit: proc.trapExit,
  uptimeMillis: kernel.now() - proc.startedAt,
  detail: proc.behaviour.describe === undefined || statusName(proc) === "init"
    ? undefined
    : proc.behaviour.describe(proc.state)
})

/**
 * Starts a node. Closing the scope stops it.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Node, Process } from "rain"
 *
 * class Increment extends Schema.TaggedClass<Increment>()("Increment", { by: Schema.Number }) {}
 * const Counter = Process.make({
 *   name: "Counter",
 *   init: (start: number) => Effect.succeed(start),
 *   handleMessage: (msg: Increment, count) => Effect.succeed(count + msg.by)
 * })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("demo@localhost")
 *   const counter = yield* node.spawn(Counter, 0)
 *   yield* node.send(counter, new Increment({ by: 1 }))
 * }))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const start = (
  name: string,
  options: NodeOptions = {}
): Effect.Effect<NodeService, InvalidNodeName | InvalidNodeOption | ApplicationStartError | NetworkError, Scope.Scope> =>
  Effect.gen(function*() {
    if (typeof name !== "string" || !nodeNamePattern.test(name)) return yield* new InvalidNodeName({ name: String(name) })
    const network = options.network
    if (network !== undefined && (typeof network.cookie !== "string" || network.cookie.length === 0)) {
      return yield* new InvalidNodeOption({
        option: "network.cookie",
        value: network.cookie,
        expected: "a non-empty string, the same on every node that talks to this one"
      })
    }
    const port: unknown = network?.port
    if (port !== undefined && !(typeof port === "number" && Number.isInteger(port) && port >= 0 && port <= 65535)) {
      return yield* new InvalidNodeOption({
        option: "network.port",
        value: typeof port === "string" ? JSON.stringify(port) : port,
        expected: "an integer from 0 to 65535 (0 picks a free port)"
      })
    }
    const maxMemory = options.limits?.maxMemory
    if (maxMemory !== undefined && !(Number.isFinite(maxMemory) && maxMemory > 0)) {
      return yield* new InvalidNodeOption({ option: "limits.maxMemory", value: maxMemory, expected: "a positive number of bytes" })
    }
    const memoryCheckMillis = Duration.toMillis(Duration.decode(options.limits?.memoryCheckInterval ?? "1 second"))
    if (!(Number.isFinite(memoryCheckMillis) && memoryCheckMillis > 0)) {
      return yield* new InvalidNodeOption({
        option: "limits.memoryCheckInterval",
        value: options.limits?.memoryCheckInterval,
        expected: "a finite duration above zero"
      })
    }
    const shutdownTimeout = options.process?.shutdownTimeout ?? "30 seconds"
    const shutdownTimeoutMillis = Option.getOrUndefined(Option.map(Duration.decodeUnknown(shutdownTimeout), Duration.toMillis))
    if (shutdownTimeoutMillis === undefined || !(Number.isFinite(shutdownTimeoutMillis) && shutdownTimeoutMillis >= 0)) {
      return yield* new InvalidNodeOption({
        option: "process.shutdownTimeout",
        value: typeof shutdownTimeout === "string" ? JSON.stringify(shutdownTimeout) : String(shutdownTimeout),
        expected: "a finite duration such as \"30 seconds\""
      })
    }
    const reportsPerSecond = options.log?.reportsPerSecond ?? 20
    if (!(Number.isInteger(reportsPerSecond) && reportsPerSecond > 0)) {
      return yield* new InvalidNodeOption({ option: "log.reportsPerSecond", value: reportsPerSecond, expected: "a positive integer" })
    }
    const level = options.log?.level
    if (level !== undefined && !LogLevel.allLevels.some((l) => l._tag === level)) {
      return yield* new InvalidNodeOption({
        option: "log.level",
        value: level,
        expected: LogLevel.allLevels.map((l) => `"${l._tag}"`).join(", ")
      })
    }
    const clock = yield* Effect.clock
    let wake = () => {}
    const scheduler = new KernelScheduler(() => wake())
    const runtime = Runtime.setFiberRef(
      (yield* withNodeLogging(Effect.runtime<never>(), options.log).pipe(
        Effect.mapError((e) => new InvalidNodeOption(e))
      )) as Runtime.Runtime<any>,
      FiberRef.currentScheduler,
      scheduler
    )
    const kernel = new Kernel({
      scheduler,
      name,
      creation: options.creation ?? (1 + Math.floor(Math.random() * 0x7ffffffe)),
      mailboxSize: options.process?.mailboxSize,
      maxProcesses: options.limits?.maxProcesses ?? 10_000_000,
      defaultCallTimeout: options.process?.callTimeout ?? "5 seconds",
      spawnTimeout: options.process?.spawnTimeout ?? "5 seconds",
      runtime,
      liveClock: clock === liveClock,
      clock,
      reports: { enabled: options.log?.crashReports ?? true, perSecond: reportsPerSecond },
      tracing: options.tracing === true,
      maxMemory: maxMemory === undefined ? undefined : { bytes: maxMemory, intervalMillis: memoryCheckMillis },
      shutdownTimeoutMillis
    })
    wake = kernel.wake
    const stopped = yield* Deferred.make<void>()
    let stopping = false
    // A stop, once begun, runs to its end in a fiber of its own (bounded by process.shutdownTimeout):
    // interrupting the fiber that asked for it must not leave the node half stopped, with every
    // later stop (the scope's finalizer among them) waiting for it.
    const stop = Effect.suspend(() => {
      if (stopping) return Deferred.await(stopped)
      stopping = true
      const sequence = Effect.forEach(kernel.beforeShutdown.slice().reverse(), (hook) => hook(), { discard: true }).pipe(
        Effect.zipRight(kernel.shutdown()),
        Effect.exit,
        Effect.zipRight(Deferred.succeed(stopped, undefined))
      )
      return Effect.forkDaemon(sequence).pipe(Effect.zipRight(Deferred.await(stopped)))
    })
    yield* Effect.addFinalizer(() => stop)
    // After the stop finalizer, so that the network closes first (peers see noconnection, as when a node dies).
    const dist = options.network === undefined
      ? undefined
      : yield* startDistribution(kernel, options.network, runtime, options.process?.maxMessageSize ?? 64 * 1024 * 1024)
    const service = makeService(kernel, runtime, stop, Deferred.await(stopped), dist)
    if (dist !== undefined) {
      dist.startApplication = remoteStarter(service, runtime)
      dist.control = yield* serveControl(service, kernel, dist)
    }
    if (options.applications !== undefined && options.applications.length > 0) {
      yield* startApplications(service, options.applications).pipe(Effect.tapError(() => stop))
    }
    return service
  })

const makeService = (
  kernel: Kernel,
  nodeRuntime: Runtime.Runtime<any>,
  stop: Effect.Effect<void>,
  wait: Effect.Effect<void>,
  dist?: Distribution | undefined
): NodeService => {
  let lastContext: Context.Context<any> | undefined
  let lastRuntime: Runtime.Runtime<any> = nodeRuntime
  const runtimeFor = (context: Context.Context<any>): Runtime.Runtime<any> => {
    if (context !== lastContext) {
      lastContext = context
      lastRuntime = Runtime.make({
        context: Context.merge(nodeRuntime.context, context),
        fiberRefs: nodeRuntime.fiberRefs,
        runtimeFlags: nodeRuntime.runtimeFlags
      })
    }
    return lastRuntime
  }
  const service: NodeService = {
    name: kernel.name,
    creation: kernel.creation,
    spawn: (behaviour, args, options) =>
      Effect.flatMap(Effect.context<any>(), (context) =>
        spawnEffect(kernel, behaviour, args, options, runtimeFor(context), undefined, undefined, false, kernel.nodePid)),
    send: (to, message, priority) => kernel.sendWait(to, message, priority ?? "normal"),
    trySend: (to, message, priority) =>
      Effect.suspend(() => {
        const error = kernel.send(undefined, to, message, priority)
        return error === undefined ? Effect.void : Effect.fail(error)
      }),
    call: (to, request, timeout) => callProcess(kernel, undefined, to, request, timeout),
    sendImportant: (to, message, options) =>
      sendImportant(kernel, undefined, to, message, options?.priority, options?.timeout),
    callImportant: (to, request, timeout) => callImportant(kernel, undefined, to, request, timeout),
    exit: (pid, reason) => exitEffect(kernel, undefined, pid, reason),
    awaitExit: (pid) => awaitExit(kernel, pid),
    whereis: (name) => Effect.sync(() => Option.map(Option.fromNullable(kernel.names.get(name)), (p) => p.pid)),
    register: (name, pid) =>
      Effect.suspend(() => {
        const proc = kernel.lookup(pid)
        if (proc === undefined) return Effect.void
        const error = kernel.register(proc, name)
        return error === undefined ? Effect.void : Effect.fail(error)
      }),
    unregister: (name) =>
      Effect.sync(() => {
        const proc = kernel.names.get(name)
        if (proc === undefined) return false
        kernel.unregister(proc)
        return true
      }),
    registered: Effect.sync(() => Array.from(kernel.names.keys())),
    info: (pid) =>
      Effect.sync(() => {
        const proc = kernel.lookup(pid)
        return proc === undefined ? Option.none() : Option.some(infoOf(kernel, proc))
      }),
    processes: Effect.sync(() => Array.from(kernel.procs.values(), (proc) => infoOf(kernel, proc))),
    metrics: Effect.sync(() => {
      const uptimeMillis = kernel.now() - kernel.startedAt
      const now = performance.now()
      const os = process.memoryUsage()
      return {
        processCount: kernel.procs.size,
        registeredNames: kernel.names.size,
        messagesIn: kernel.totalIn,
        messagesOut: kernel.totalOut,
        messageRate: kernel.stats.rate(1, now, kernel.totalIn),
        messageRate10s: kernel.stats.rate(10, now, kernel.totalIn),
        memoryUsage: os.heapUsed,
        memoryBreakdown: {
          processesBytes: kernel.procs.size * BYTES_PER_PROCESS,
          bytesPerProcess: BYTES_PER_PROCESS,
          mailboxBytes: mailboxBytes(kernel),
          heapUsed: os.heapUsed,
          rss: os.rss
        },
        uptimeMillis,
        droppedMessages: dist?.drops.snapshot() ?? { mailboxFull: 0, undecodable: 0 },
        memory: kernel.memory === undefined ? undefined : {
          sampled: kernel.memory.used,
          limit: kernel.memory.limit,
          shedding: kernel.memoryHigh,
          mailboxBytes: kernel.memory.mailboxes().bytes
        }
      }
    }),
    stop,
    wait,
    upgrade: (from, to, extra, options) => upgradeBehaviours(kernel, [{ from: from as Behaviour<any, any, any, any, any, any> | string, to: to as Behaviour<any, any, any, any, any, any> }], extra, options?.timeout),
    upgradeApplication: (spec, extra, options) => upgradeApp(kernel, spec, extra, options?.timeout),
    ...networkService(kernel, dist)
  }
  attachKernel(service, kernel)
  return service
}

/**
 * The node as a `Layer`: `Effect.provide(program, Node.layer("app@localhost"))`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  name: string,
  options?: NodeOptions
): Layer.Layer<Node, InvalidNodeName | InvalidNodeOption | ApplicationStartError | NetworkError> =>
  Layer.scoped(Node, start(name, options))

/**
 * Starts a node, runs `program` with it, then waits until the node is stopped (by
 * `node.stop`, by a permanent application ending, or by interruption: Ctrl-C with `runMain`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node, Process } from "rain"
 *
 * const Demo = Process.make({ name: "Demo", init: () => Effect.void })
 *
 * // a program that runs until the node stops (Effect.runFork(main) runs it)
 * export const main = Node.run("demo@localhost", {}, (node) => node.spawn(Demo, undefined))
 * ```
 * @since 0.1.0
 * @category running
 */
export const run = <A, E, R>(
  name: string,
  options: NodeOptions,
  program: (node: NodeService) => Effect.Effect<A, E, R>
): Effect.Effect<void, E | InvalidNodeName | InvalidNodeOption | ApplicationStartError | NetworkError, Exclude<R, Scope.Scope>> =>
  Effect.scoped(
    Effect.gen(function*() {
      const node = yield* start(name, options)
      yield* program(node)
      yield* node.wait
    })
  )

/**
 * `run` as a program's main: logs a failure, exits the OS process with a code, and
 * stops the node cleanly on SIGINT/SIGTERM.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node, Process } from "rain"
 *
 * const Demo = Process.make({ name: "Demo", init: () => Effect.void })
 *
 * // call main() from the program's entry module
 * export const main = () => Node.runMain("demo@localhost", {}, (node) => node.spawn(Demo, undefined))
 * ```
 * @since 0.1.0
 * @category running
 */
export const runMain = <A, E>(
  name: string,
  options: NodeOptions,
  program: (node: NodeService) => Effect.Effect<A, E, Scope.Scope>
): void => internalRunMain(run(name, options, program))

/**
 * Spawns a process with the node in the context (see `NodeService.spawn`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const spawn = <S, A, M, Q, E, R>(
  behaviour: Behaviour<S, A, M, Q, E, R>,
  args: A,
  options?: SpawnOptions
): Effect.Effect<Ref<M, Q>, SpawnError, R | Node> => Effect.flatMap(Node, (node) => node.spawn(behaviour, args, options))

/**
 * Sends a message with the node in the context (see `NodeService.send`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const send = <M>(to: Address<M, any>, message: NoInfer<M>, priority?: Priority): Effect.Effect<void, SendError, Node> =>
  Effect.flatMap(Node, (node) => node.send(to, message, priority))

/**
 * Calls a process with the node in the context (see `NodeService.call`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const call = <Q, R extends Q>(
  to: Address<any, Q>,
  request: R,
  timeout?: CallTimeout
): Effect.Effect<SuccessOf<R>, FailureOf<R> | CallError, Node> => Effect.flatMap(Node, (node) => node.call(to, request, timeout))

/**
 * Upgrades the processes of a behaviour with the node in the context (see `NodeService.upgrade`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node, Process } from "rain"
 *
 * const V1 = Process.make({ name: "Counter", version: 1, init: () => Effect.succeed(0) })
 * const V2 = Process.make({
 *   name: "Counter", version: 2, init: () => Effect.succeed({ count: 0 }),
 *   codeChange: (_old, count: number) => Effect.succeed({ count })
 * })
 * const program = Node.upgrade(V1, V2)
 * ```
 * @since 0.2.0
 * @category accessors
 */
export const upgrade = <S, A, M, Q, E, R>(
  from: Any | string,
  to: Behaviour<S, A, M, Q, E, R>,
  extra?: unknown,
  options?: UpgradeOptions
): Effect.Effect<UpgradeReport, UpgradeFailed | InvalidBehaviour, Node> =>
  Effect.flatMap(Node, (node) => node.upgrade(from, to, extra, options))

/**
 * Upgrades a running application with the node in the context (see `NodeService.upgradeApplication`).
 *
 * @since 0.2.0
 * @category accessors
 */
export const upgradeApplication = (
  spec: Application.Spec,
  extra?: unknown,
  options?: UpgradeOptions
): Effect.Effect<ApplicationUpgradeReport, UpgradeFailed | InvalidBehaviour | ApplicationNotRunning, Node> =>
  Effect.flatMap(Node, (node) => node.upgradeApplication(spec, extra, options))
