/**
 * Nodes in worker threads: `Cluster.start` runs N nodes (one per core by default), one per
 * `worker_thread`, in one OS process, fully connected over `MessagePort`s
 * (`Transport.worker`). Everything that works between nodes works between them: send,
 * call, link, monitor, remote spawn, registered names `{ name, node }`.
 *
 * The main thread is their supervisor, not a node: it brokers the channels between
 * threads and restarts a thread that ends, so it must stay responsive, and it holds no
 * processes that a busy event loop would delay. A thread that ends is a node down for the
 * others (their links and monitors fire with `noconnection`) and comes back with a new
 * `creation`, within a restart intensity (`restart`); past it the cluster stops, as an OTP
 * supervisor does. The main thread may still join the mesh as a node of its own (see
 * `cluster.network`), which is how a program talks to its cluster.
 *
 * What each node runs comes from a module (functions cannot cross threads): its default
 * export is a `Cluster.define({ applications, allowSpawn, messages, main })`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cluster, Node } from "rain"
 *
 * // nodes.ts has `export default Cluster.define({ applications, allowSpawn, messages })`
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const cluster = yield* Cluster.start({ module: "./nodes.ts" })
 *   const main = yield* Node.start("main@cluster", { network: cluster.network("main@cluster") })
 *   const pid = yield* main.spawnRemote(cluster.nodes[0]!, "Worker", { job: 1 })
 * }))
 * ```
 * @since 0.2.0
 */
import type { Scope } from "effect"
import { Duration, Effect, Schema } from "effect"
import * as os from "node:os"
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import type { NetworkOptions } from "../Node/NetworkOptions.js"
import * as Transport from "../Transport/index.js"
import type { CloneableNodeOptions } from "./internal/protocol.js"
import { routesFor } from "./internal/routes.js"
import { load, type NodeSpec as InternalNodeSpec } from "./internal/spec.js"
import { ClusterSupervisor, type Settings } from "./internal/supervisor.js"

/**
 * What every node of a cluster runs: the default export of the cluster's module. Each node
 * starts `applications` (in dependency order), lets the others spawn `allowSpawn` and
 * start `allowApplications`, registers `messages` as wire classes, then runs `main` (if
 * any) with its node until the node stops.
 *
 * @since 0.2.0
 * @category models
 */
export interface NodeSpec extends InternalNodeSpec {}

/**
 * Declares what a cluster's nodes run (the identity function, for inference); make it the
 * default export of the module given to `Cluster.start`.
 *
 * @example
 * ```ts
 * import { Cluster } from "rain"
 * export default Cluster.define({ applications: [], allowSpawn: [], messages: [] })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const define = (spec: NodeSpec): NodeSpec => spec

/**
 * Options of `Cluster.start`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The module whose default export is a `Cluster.define(...)`: a `file:` URL or a path. */
  readonly module: string | URL
  /** How many nodes (threads); default `os.availableParallelism()`. */
  readonly size?: number | undefined
  /** Node names are `<name><i>@<host>`, i from 1: default `node1@cluster`, `node2@cluster`, ... */
  readonly name?: string | undefined
  readonly host?: string | undefined
  /** The cookie the nodes share (and the main thread's node, see `network`); default a random one. */
  readonly cookie?: string | undefined
  /** Options of every node (what survives a structured clone: numbers, strings, booleans). */
  readonly nodeOptions?: CloneableNodeOptions | undefined
  readonly network?: {
    /**
     * Also listen on TCP, beside the thread address, so that nodes elsewhere reach the
     * threads' nodes (each on a free port of `host`, see `Member.address`); the threads
     * reach nodes elsewhere by `routes`. Default: threads only.
     */
    readonly tcp?: { readonly host?: string | undefined } | boolean | undefined
    /** Static routes of every node to nodes outside the cluster ("host:port"). */
    readonly routes?: Readonly<Record<string, string>> | undefined
    /** Offer compression of large messages (default false: threads share the memory bus, not a wire). */
    readonly compression?: boolean | undefined
    readonly tickTime?: Duration.DurationInput | undefined
    readonly connectTimeout?: Duration.DurationInput | undefined
  } | undefined
  /** A thread that ends more than `maxRestarts` times (default 3) `within` (default 5 seconds) stops the cluster. */
  readonly restart?: {
    readonly maxRestarts?: number | undefined
    readonly within?: Duration.DurationInput | undefined
    /**
     * Keep one spare thread, loaded and idle, that takes over the next node that ends, so
     * that a restart costs a node start rather than a thread start (loading the module and
     * Rain again); default true. Costs one idle isolate.
     */
    readonly spare?: boolean | undefined
  } | undefined
  /**
   * V8 heap limits of each thread, in MB (`Worker`'s `resourceLimits`; an unset field is
   * V8's default). `maxYoungGenerationSizeMb` defaults to 96 here (V8's default is 48): the
   * young generation is where messages and the Effects that carry them are allocated and
   * die, and a node that moves a million messages a second fills V8's default one every
   * ~20 ms; twice the size halves the scavenges (and what they promote to the old
   * generation) for at most 48 MB more per thread, committed only as it is used (see
   * bench/README.md). Lower it for many small clusters in one process.
   */
  readonly resourceLimits?: {
    readonly maxYoungGenerationSizeMb?: number | undefined
    readonly maxOldGenerationSizeMb?: number | undefined
    readonly codeRangeSizeMb?: number | undefined
    readonly stackSizeMb?: number | undefined
  } | undefined
  /** How long the threads may take to start and mesh (default 30 seconds). */
  readonly startTimeout?: Duration.DurationInput | undefined
  /** How long a node may take to stop before its thread is terminated (default 5 seconds). */
  readonly stopTimeout?: Duration.DurationInput | undefined
  /**
   * `execArgv` of the threads (default: Node inherits the main thread's, without the
   * per-process flags a worker refuses, such as `--expose-gc`). When Rain runs from its
   * TypeScript sources (tests, `tsx`), its threads register tsx themselves to load them and
   * `.ts` modules.
   */
  readonly execArgv?: ReadonlyArray<string> | undefined
}

/**
 * One node of the cluster as its supervisor sees it.
 *
 * @since 0.2.0
 * @category models
 */
export interface Member {
  readonly node: string
  /** Its incarnation: a new one after every restart. */
  readonly creation: number
  /** `starting` (its thread is loading or meshing), `up`, `down` (ended, restarting), `stopped`. */
  readonly status: "starting" | "up" | "down" | "stopped"
  readonly threadId: number
  /** How many times its thread was restarted. */
  readonly restarts: number
  /** Its TCP address when `network.tcp` is on, else its thread address (`thread:node1@cluster`). */
  readonly address: string
  readonly port: number
  /** Why its thread last ended (or its node failed to start). */
  readonly lastError: string | undefined
}

/**
 * A running cluster. Closing the scope of `Cluster.start` stops it.
 *
 * @since 0.2.0
 * @category models
 */
export interface Cluster {
  /**
   * The node names, in order. A pool or router spreads work over them (the seam for
   * process groups and pools: they address `{ name, node }` on each).
   */
  readonly nodes: ReadonlyArray<string>
  readonly cookie: string
  /** Every member now. */
  readonly members: Effect.Effect<ReadonlyArray<Member>>
  /** Waits until `node`'s member satisfies `predicate` (bound it with `Effect.timeout`). */
  awaitMember(node: string, predicate: (member: Member) => boolean): Effect.Effect<Member, UnknownClusterNode>
  /** Ends a node's thread at once, as a crash does: the others see it down; it restarts with a new creation. */
  kill(node: string): Effect.Effect<void, UnknownClusterNode>
  /**
   * Network options for a node of the main thread (or of any thread of this process that
   * has it) to join the mesh: the cookie, `Transport.worker` (TCP beside it when
   * `network.tcp` is on), routes to every member and the module's wire messages.
   */
  network(name: string): NetworkOptions
  /** Completes when the cluster has stopped; fails with `ClusterGaveUp` if a thread ended too often. */
  readonly wait: Effect.Effect<void, ClusterGaveUp>
  /** Stops every node (each stops its processes) and thread. */
  readonly stop: Effect.Effect<void>
}

/**
 * An option of `Cluster.start` is out of range.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidClusterOption extends Schema.TaggedError<InvalidClusterOption>()("InvalidClusterOption", {
  option: Schema.String,
  value: Schema.Unknown,
  expected: Schema.String
}) {
  override get message(): string {
    return `Cluster option ${this.option} is ${JSON.stringify(this.value)}; expected ${this.expected}.`
  }
}

/**
 * The cluster could not start: its module is not usable, or a node failed to start (the
 * module's applications, its network) or did not come up in time. Every thread started is
 * stopped again.
 *
 * @since 0.2.0
 * @category errors
 */
export class ClusterStartFailed extends Schema.TaggedError<ClusterStartFailed>()("ClusterStartFailed", {
  node: Schema.optional(Schema.String),
  reason: Schema.String
}) {
  override get message(): string {
    return `The cluster did not start${this.node === undefined ? "" : ` (node ${this.node})`}: ${this.reason}. ` +
      "Check that the module's default export is a Cluster.define({...}) and that its applications start on one node"
  }
}

/**
 * A thread ended more often than `restart` allows; the cluster stopped.
 *
 * @since 0.2.0
 * @category errors
 */
export class ClusterGaveUp extends Schema.TaggedError<ClusterGaveUp>()("ClusterGaveUp", {
  node: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `The cluster stopped: ${this.reason}. Fix what makes the node crash, or raise restart.maxRestarts`
  }
}

/**
 * No member of the cluster has that name.
 *
 * @since 0.2.0
 * @category errors
 */
export class UnknownClusterNode extends Schema.TaggedError<UnknownClusterNode>()("UnknownClusterNode", {
  node: Schema.String,
  nodes: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `${this.node} is not a node of this cluster; its nodes are ${this.nodes.join(", ")}`
  }
}

/** The young generation of a cluster thread unless `resourceLimits` says otherwise (V8's default: 48). */
const DEFAULT_YOUNG_GENERATION_MB = 96
const limitKeys = new Set(["maxYoungGenerationSizeMb", "maxOldGenerationSizeMb", "codeRangeSizeMb", "stackSizeMb"])

const namePart = /^[A-Za-z0-9_.-]+$/
const hostPart = /^[A-Za-z0-9_.:-]+$/

const millis = (
  option: string,
  value: Duration.DurationInput | undefined,
  fallback: Duration.DurationInput
): Effect.Effect<number, InvalidClusterOption> =>
  Effect.suspend(() => {
    const d = Duration.decodeUnknown(value ?? fallback)
    const ms = d._tag === "Some" ? Duration.toMillis(d.value) : NaN
    return Number.isFinite(ms) && ms > 0
      ? Effect.succeed(ms)
      : Effect.fail(new InvalidClusterOption({ option, value, expected: "a positive duration" }))
  })

/** Where the thread entry is, and how threads load TypeScript when Rain runs from its sources. */
const entryOf = (): { readonly entry: URL; readonly typescript: boolean } => {
  const typescript = import.meta.url.endsWith(".ts")
  return { entry: new URL(typescript ? "./internal/worker.ts" : "./internal/worker.js", import.meta.url), typescript }
}

/** tsx's ESM API, for threads that load Rain's TypeScript sources; undefined when it is not installed. */
const tsxApi = (): string | undefined => {
  try {
    // The ESM build itself: the CommonJS one (what `require.resolve` finds) imports a path that does not exist.
    const pkg = createRequire(import.meta.url).resolve("tsx/package.json")
    return new URL("./dist/esm/api/index.mjs", pathToFileURL(pkg)).href
  } catch {
    return undefined
  }
}

const toMember = (m: {
  node: string
  creation: number
  status: Member["status"]
  threadId: number
  restarts: number
  address: string
  port: number
  lastError: string | undefined
}): Member => ({
  node: m.node,
  creation: m.creation,
  status: m.status,
  threadId: m.threadId,
  restarts: m.restarts,
  address: m.address,
  port: m.port,
  lastError: m.lastError
})

/**
 * Starts a cluster: one node per worker thread, fully connected, each running the module's
 * `NodeSpec`. Completes once every node is up and connected to every other; closing the
 * scope stops them all.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cluster } from "rain"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const cluster = yield* Cluster.start({ module: "./nodes.ts", size: 2 })
 *   console.log(cluster.nodes) // ["node1@cluster", "node2@cluster"]
 * }))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const start = (
  options: Options
): Effect.Effect<Cluster, InvalidClusterOption | ClusterStartFailed, Scope.Scope> =>
  Effect.gen(function*() {
    if (typeof options !== "object" || options === null) {
      return yield* new InvalidClusterOption({
        option: "options",
        value: options,
        expected: "an object { module, size, ... }"
      })
    }
    if (!(options.module instanceof URL) && (typeof options.module !== "string" || options.module.length === 0)) {
      return yield* new InvalidClusterOption({
        option: "module",
        value: options.module,
        expected: "the path or file URL of a module whose default export is Cluster.define({...}) " +
          "(new URL(\"./nodes.js\", import.meta.url))"
      })
    }
    const size = options.size ?? os.availableParallelism()
    if (!(Number.isInteger(size) && size >= 1 && size <= 1024)) {
      return yield* new InvalidClusterOption({ option: "size", value: size, expected: "an integer from 1 to 1024" })
    }
    const prefix = options.name ?? "node"
    if (!namePart.test(prefix)) {
      return yield* new InvalidClusterOption({ option: "name", value: prefix, expected: "letters, digits, _ - ." })
    }
    const host = options.host ?? "cluster"
    if (!hostPart.test(host)) {
      return yield* new InvalidClusterOption({ option: "host", value: host, expected: "letters, digits, _ - . :" })
    }
    const maxRestarts = options.restart?.maxRestarts ?? 3
    if (!(Number.isInteger(maxRestarts) && maxRestarts >= 0)) {
      return yield* new InvalidClusterOption({
        option: "restart.maxRestarts",
        value: maxRestarts,
        expected: "an integer >= 0"
      })
    }
    const nodeOptions = options.nodeOptions ?? {}
    try {
      structuredClone(nodeOptions)
    } catch (e) {
      return yield* new InvalidClusterOption({
        option: "nodeOptions",
        value: String(e instanceof Error ? e.message : e),
        expected: "plain data (numbers, strings, booleans) that a structured clone can carry to the threads"
      })
    }
    const limits = options.resourceLimits
    if (limits !== undefined && (typeof limits !== "object" || limits === null)) {
      return yield* new InvalidClusterOption({
        option: "resourceLimits",
        value: limits,
        expected: "an object { maxYoungGenerationSizeMb, maxOldGenerationSizeMb, codeRangeSizeMb, stackSizeMb }"
      })
    }
    const resourceLimits: Record<string, number> = { maxYoungGenerationSizeMb: DEFAULT_YOUNG_GENERATION_MB }
    for (const [key, value] of Object.entries(limits ?? {})) {
      if (!limitKeys.has(key)) {
        return yield* new InvalidClusterOption({
          option: `resourceLimits.${key}`,
          value,
          expected: `one of ${Array.from(limitKeys).join(", ")}`
        })
      }
      if (value === undefined) continue
      if (!(typeof value === "number" && Number.isFinite(value) && value > 0)) {
        return yield* new InvalidClusterOption({
          option: `resourceLimits.${key}`,
          value,
          expected: "a positive number of megabytes"
        })
      }
      resourceLimits[key] = value
    }
    const withinMillis = yield* millis("restart.within", options.restart?.within, "5 seconds")
    const startMillis = yield* millis("startTimeout", options.startTimeout, "30 seconds")
    const stopMillis = yield* millis("stopTimeout", options.stopTimeout, "5 seconds")
    const net = options.network
    const tickMillis = net?.tickTime === undefined ? undefined : yield* millis("network.tickTime", net.tickTime, 1)
    const connectMillis = net?.connectTimeout === undefined
      ? undefined
      : yield* millis("network.connectTimeout", net.connectTimeout, 1)
    const moduleUrl = options.module instanceof URL
      ? options.module.href
      : options.module.startsWith("file:")
      ? options.module
      : pathToFileURL(options.module).href
    // Load it here first: a broken module is one clear error, not one per thread.
    const loaded = yield* Effect.promise(() => load(moduleUrl))
    if ("error" in loaded) return yield* new ClusterStartFailed({ reason: loaded.error })
    const spec = loaded.spec
    const tcp = net?.tcp === undefined || net.tcp === false
      ? undefined
      : { host: (net.tcp === true ? undefined : net.tcp.host) ?? "127.0.0.1", port: 0 }
    const { entry, typescript } = entryOf()
    const tsx = typescript ? tsxApi() : undefined
    if (typescript && tsx === undefined) {
      return yield* new ClusterStartFailed({
        reason: "Rain runs from its TypeScript sources and its threads need tsx to load them: install tsx, or run the built package"
      })
    }
    const nodes = Array.from({ length: size }, (_, i) => `${prefix}${i + 1}@${host}`)
    const cookie = options.cookie ?? crypto.randomUUID()
    const settings: Settings = {
      nodes,
      module: moduleUrl,
      cookie,
      nodeOptions,
      tcp,
      routes: net?.routes ?? {},
      compression: net?.compression ?? false,
      tickMillis,
      connectTimeoutMillis: connectMillis,
      maxRestarts,
      withinMillis,
      stopTimeoutMillis: stopMillis,
      spare: options.restart?.spare ?? true,
      entry,
      tsx,
      execArgv: options.execArgv,
      resourceLimits
    }
    const supervisor = yield* Effect.acquireRelease(
      Effect.async<ClusterSupervisor, ClusterStartFailed>((resume) => {
        const sup = new ClusterSupervisor(settings, 1 + Math.floor(Math.random() * 2 ** 30))
        const timer = setTimeout(() => {
          void sup.stop().then(() =>
            resume(Effect.fail(
              new ClusterStartFailed({ reason: `the nodes did not all come up within ${startMillis} ms` })
            ))
          )
        }, startMillis)
        sup.start((error) => {
          clearTimeout(timer)
          resume(error === undefined ? Effect.succeed(sup) : Effect.fail(new ClusterStartFailed(error)))
        })
        return Effect.promise(() => sup.stop())
      }),
      (sup) => Effect.promise(() => sup.stop())
    )
    const known = (node: string) =>
      supervisor.members.has(node)
        ? Effect.void
        : Effect.fail(new UnknownClusterNode({ node, nodes }))
    const memberSet = new Set(nodes)
    const cluster: Cluster = {
      nodes,
      cookie,
      members: Effect.sync(() => Array.from(supervisor.members.values(), toMember)),
      awaitMember: (node, predicate) =>
        Effect.zipRight(
          known(node),
          Effect.async<Member>((resume) => {
            let active = true
            supervisor.watch(() => {
              if (!active) return false
              const m = toMember(supervisor.members.get(node)!)
              if (!predicate(m)) return true
              active = false
              resume(Effect.succeed(m))
              return false
            })
            return Effect.sync(() => {
              active = false
            })
          })
        ),
      kill: (node) => Effect.zipRight(known(node), Effect.promise(() => supervisor.kill(node))),
      network: (name) => {
        const { port, drop } = supervisor.broker.endpoint()
        void drop
        return {
          cookie,
          transport: Transport.worker({
            broker: port,
            address: `thread:${name}`,
            fallback: tcp === undefined ? undefined : Transport.tcp({ host: tcp.host })
          }),
          routes: routesFor(port, settings.routes, memberSet),
          messages: spec.messages,
          compression: settings.compression
        }
      },
      wait: Effect.async<void, ClusterGaveUp>((resume) =>
        supervisor.ended((gaveUp) => resume(gaveUp === undefined ? Effect.void : Effect.fail(new ClusterGaveUp(gaveUp))))
      ),
      stop: Effect.promise(() => supervisor.stop())
    }
    return cluster
  })
