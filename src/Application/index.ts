/**
 * Applications: a named, versioned supervision tree with an environment, dependencies
 * and a start mode, with OTP's meaning for the node when the application stops:
 * `temporary` (the stop is logged), `transient` (a stop for any reason but `normal`
 * stops the node), `permanent` (any stop stops the node). An explicit `stop` never
 * stops the node.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Application, Node, Process } from "rain"
 *
 * const DemoActor = Process.make({ name: "DemoActor", init: () => Effect.void })
 *
 * const DemoApp = Application.make({
 *   name: "DemoApp",
 *   description: "Demo Rain application",
 *   version: "1.0.0",
 *   root: [{ id: "demo_actor", behaviour: DemoActor, args: undefined }],
 *   env: { greeting: "hello" }
 * })
 * // a program's main: runs until the node stops
 * export const main = () => Node.runMain("demo@localhost", { applications: [DemoApp] }, () => Effect.void)
 * ```
 * @since 0.1.0
 */
import type { Scope } from "effect"
import { Context, Effect, Layer, Option, Runtime, Schema } from "effect"
import type { ApplicationLike, NodeService } from "../Node/index.js"
import type { Kernel } from "../Node/internal/kernel.js"
import { kernelOf, kernels } from "../Node/internal/kernel.js"
import { awaitExit, exit } from "../Node/internal/signals.js"
import { Node } from "../Node/Service.js"
import type { Context as ProcessContext } from "../Process/Context.js"
import type { SpawnError } from "../Process/errors.js"
import * as Reason from "../Process/ExitReason.js"
import type { ExitReason } from "../Process/ExitReason.js"
import type { Pid } from "../Process/Pid.js"
import type { Registrar } from "../Registry/Registrar.js"
import * as Supervisor from "../Supervisor/index.js"

/** @since 0.1.0 */
export type Mode = "temporary" | "transient" | "permanent"

/**
 * An application.
 *
 * @since 0.1.0
 */
export interface Spec extends ApplicationLike {
  readonly name: string
  readonly description?: string | undefined
  readonly version: string
  /** The root supervisor, or its children (then under a one_for_one root). */
  readonly root: Supervisor.Spec | ReadonlyArray<Supervisor.ChildSpec>
  /** Configuration values its processes read with `getEnv`. */
  readonly env?: Readonly<Record<string, unknown>> | undefined
  /** Applications that must be running before this one starts. */
  readonly dependencies?: ReadonlyArray<string> | undefined
  /** Default mode when started by `Node.start`; default `temporary`. */
  readonly mode?: Mode | undefined
}

/**
 * Defines an application (the identity function, for inference).
 *
 * @since 0.1.0
 */
export const make = (spec: Spec): Spec => spec

/** @since 0.1.0 */
export class NotLoaded extends Schema.TaggedError<NotLoaded>()("ApplicationNotLoaded", { name: Schema.String }) {
  override get message(): string {
    return `Application "${this.name}" is not loaded on this node; load or start it with its spec.`
  }
}

/** @since 0.1.0 */
export class AlreadyStarted extends Schema.TaggedError<AlreadyStarted>()("ApplicationAlreadyStarted", { name: Schema.String }) {
  override get message(): string {
    return `Application "${this.name}" is already running.`
  }
}

/** @since 0.1.0 */
export class StillRunning extends Schema.TaggedError<StillRunning>()("ApplicationStillRunning", { name: Schema.String }) {
  override get message(): string {
    return `Application "${this.name}" is running; stop it before unloading it.`
  }
}

/** @since 0.1.0 */
export class DependencyNotRunning extends Schema.TaggedError<DependencyNotRunning>()("DependencyNotRunning", {
  name: Schema.String,
  dependency: Schema.String
}) {
  override get message(): string {
    return `Application "${this.name}" needs "${this.dependency}" running first: start it, or list both in Node.start's applications.`
  }
}

/** @since 0.1.0 */
export class MissingDependency extends Schema.TaggedError<MissingDependency>()("MissingDependency", {
  name: Schema.String,
  dependency: Schema.String
}) {
  override get message(): string {
    return `Application "${this.name}" depends on "${this.dependency}", which is not among the applications given. Add it.`
  }
}

/** @since 0.1.0 */
export class DependencyCycle extends Schema.TaggedError<DependencyCycle>()("DependencyCycle", {
  cycle: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `Applications depend on each other in a cycle: ${this.cycle.join(" -> ")}. Break the cycle.`
  }
}

/** @since 0.1.0 */
export class StartFailed extends Schema.TaggedError<StartFailed>()("ApplicationStartFailed", {
  name: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Application "${this.name}" failed to start: ${this.reason}`
  }
}

/**
 * What `which` reports per application.
 *
 * @since 0.1.0
 */
export interface Info {
  readonly name: string
  readonly description: string
  readonly version: string
  readonly state: "loaded" | "running" | "stopped"
  readonly mode: Mode | undefined
  readonly root: Pid | undefined
  readonly uptimeMillis: number
}

interface Entry {
  readonly spec: Spec
  state: "loaded" | "running" | "stopped"
  mode: Mode | undefined
  root: Pid | undefined
  startedAt: number
  stopping: boolean
}

interface Table {
  readonly apps: Map<string, Entry>
  /** Running applications in start order. */
  readonly order: Array<string>
}

/**
 * Tells the node's registrar (set by distribution under "rain/Registrar") that an application
 * runs here, or no longer does. A registrar that cannot be reached is logged, not fatal: the
 * application runs either way, and a backend that reconnects announces it again.
 */
const announce = (kernel: Kernel, entry: Entry, running: boolean): Effect.Effect<void> => {
  const registrar = kernel.extensions.get("rain/Registrar") as Registrar | undefined
  if (registrar === undefined) return Effect.void
  const { name, version } = entry.spec
  const change = running
    ? registrar.registerApplication({ name, version, mode: entry.mode ?? "temporary" })
    : registrar.unregisterApplication(name)
  return change.pipe(
    Effect.catchAll((error) => Effect.logWarning(`application ${name}: ${error.message}`)),
    Effect.annotateLogs({ node: kernel.name, application: name })
  )
}

const tableOf = (kernel: Kernel): Table => {
  let table = kernel.extensions.get("rain/Application") as Table | undefined
  if (table === undefined) {
    table = { apps: new Map(), order: [] }
    kernel.extensions.set("rain/Application", table)
    const t = table
    // Stopping the node stops the running applications, newest first.
    kernel.beforeShutdown.push(() =>
      Effect.forEach(t.order.slice().reverse(), (name) => stopEntry(kernel, t, name), { discard: true })
    )
  }
  return table
}

/**
 * Loads an application's spec on a node (starting does it too).
 *
 * @since 0.1.0
 */
export const load = (node: NodeService, spec: Spec): Effect.Effect<void> =>
  Effect.sync(() => {
    const table = tableOf(kernelOf(node))
    const entry = table.apps.get(spec.name)
    if (entry === undefined || entry.state !== "running") {
      table.apps.set(spec.name, { spec, state: "loaded", mode: undefined, root: undefined, startedAt: 0, stopping: false })
    }
  })

/**
 * Unloads a stopped (or never started) application.
 *
 * @since 0.1.0
 */
export const unload = (node: NodeService, name: string): Effect.Effect<void, NotLoaded | StillRunning> =>
  Effect.suspend((): Effect.Effect<void, NotLoaded | StillRunning> => {
    const table = tableOf(kernelOf(node))
    const entry = table.apps.get(name)
    if (entry === undefined) return Effect.fail(new NotLoaded({ name }))
    if (entry.state === "running") return Effect.fail(new StillRunning({ name }))
    table.apps.delete(name)
    return Effect.void
  })

/**
 * Starts an application (loading its spec when given one) in a mode (default: the
 * spec's, else `temporary`). Its dependencies must be running.
 *
 * @since 0.1.0
 */
export const start = (
  node: NodeService,
  app: Spec | string,
  mode?: Mode
): Effect.Effect<Pid, NotLoaded | AlreadyStarted | DependencyNotRunning | StartFailed> =>
  Effect.gen(function*() {
    const kernel = kernelOf(node)
    const table = tableOf(kernel)
    if (typeof app !== "string") yield* load(node, app)
    const name = typeof app === "string" ? app : app.name
    const entry = table.apps.get(name)
    if (entry === undefined) return yield* new NotLoaded({ name })
    if (entry.state === "running") return yield* new AlreadyStarted({ name })
    for (const dependency of entry.spec.dependencies ?? []) {
      if (table.apps.get(dependency)?.state !== "running") return yield* new DependencyNotRunning({ name, dependency })
    }
    const root = Array.isArray(entry.spec.root)
      ? (entry.spec.root as ReadonlyArray<Supervisor.ChildSpec>).reduce((s, c) => Supervisor.child(c)(s), Supervisor.oneForOne())
      : (entry.spec.root as Supervisor.Spec)
    const pid = yield* Supervisor.start(node, root).pipe(
      Effect.mapError((error: SpawnError) =>
        new StartFailed({ name, reason: error._tag === "InitFailed" ? Reason.format(error.reason) : error.message })
      )
    )
    entry.state = "running"
    entry.mode = mode ?? entry.spec.mode ?? "temporary"
    entry.root = pid
    entry.startedAt = kernel.now()
    entry.stopping = false
    table.order.push(name)
    yield* announce(kernel, entry, true)
    // Watch the root: what its end means depends on the mode. On the node's runtime, so
    // that what it logs goes through the node's logger and level, not the starter's.
    Runtime.runFork(kernel.options.runtime)(
      node.awaitExit(pid).pipe(Effect.flatMap((reason) => rootEnded(node, table, entry, reason)))
    )
    return pid
  })

const rootEnded = (node: NodeService, table: Table, entry: Entry, reason: ExitReason): Effect.Effect<void> =>
  Effect.suspend(() => {
    const name = entry.spec.name
    const i = table.order.indexOf(name)
    if (i >= 0) table.order.splice(i, 1)
    entry.state = "stopped"
    entry.root = undefined
    const withdrawn = announce(kernelOf(node), entry, false)
    if (entry.stopping) return Effect.zipRight(withdrawn, Effect.logInfo(`application ${name} stopped`))
    const message = `application ${name} exited: ${Reason.format(reason)} (${entry.mode})`
    const stopsNode = entry.mode === "permanent" || (entry.mode === "transient" && !Reason.isNormal(reason))
    if (!stopsNode) return Effect.zipRight(withdrawn, Effect.logInfo(message))
    return Effect.logError(`${message}; stopping the node`).pipe(
      Effect.zipRight(withdrawn),
      Effect.zipRight(Effect.forkDaemon(node.stop)),
      Effect.asVoid
    )
  }).pipe(Effect.annotateLogs({ node: node.name, application: entry.spec.name }))

const stopEntry = (kernel: Kernel, table: Table, name: string): Effect.Effect<void> =>
  Effect.suspend(() => {
    const entry = table.apps.get(name)
    if (entry === undefined || entry.state !== "running" || entry.root === undefined) return Effect.void
    entry.stopping = true
    const root = entry.root
    exit(kernel, undefined, root, Reason.shutdown)
    return awaitExit(kernel, root).pipe(
      Effect.zipRight(Effect.sync(() => {
        entry.state = "stopped"
        entry.root = undefined
        const i = table.order.indexOf(name)
        if (i >= 0) table.order.splice(i, 1)
      })),
      // withdrawn before `stop` returns (the root's watcher withdraws too: the second is a no-op)
      Effect.zipRight(announce(kernel, entry, false))
    )
  })

/**
 * Stops a running application: its tree stops in reverse order. The mode has no effect
 * on an explicit stop.
 *
 * @since 0.1.0
 */
export const stop = (node: NodeService, name: string): Effect.Effect<void, NotLoaded> =>
  Effect.suspend(() => {
    const table = tableOf(kernelOf(node))
    if (!table.apps.has(name)) return Effect.fail(new NotLoaded({ name }))
    return stopEntry(kernelOf(node), table, name)
  })

/**
 * The applications on a node, in load order, with state, version and uptime.
 *
 * @since 0.1.0
 */
export const which = (node: NodeService): Effect.Effect<ReadonlyArray<Info>> =>
  Effect.sync(() =>
    Array.from(tableOf(kernelOf(node)).apps.values(), (e) => ({
      name: e.spec.name,
      description: e.spec.description ?? "",
      version: e.spec.version,
      state: e.state,
      mode: e.mode,
      root: e.root,
      uptimeMillis: e.state === "running" ? kernelOf(node).now() - e.startedAt : 0
    }))
  )

/**
 * Reads a value of an application's environment, from a node or from inside a process.
 *
 * @example
 * ```ts
 * import { Effect, Option } from "effect"
 * import { Application, Process } from "rain"
 *
 * const Greeter = Process.make({
 *   name: "Greeter",
 *   init: (_: void, ctx) =>
 *     Effect.gen(function*() {
 *       const greeting = yield* Application.getEnv(ctx, "DemoApp", "greeting")
 *       return Option.getOrElse(greeting, () => "hi")
 *     })
 * })
 * ```
 * @since 0.1.0
 */
export const getEnv = (
  where: NodeService | ProcessContext<any, any>,
  application: string,
  key: string
): Effect.Effect<Option.Option<unknown>> =>
  Effect.sync(() => {
    const kernel = "self" in where ? kernels.get(`${where.self.node}/${where.self.creation}`) : kernelOf(where)
    if (kernel === undefined) return Option.none()
    const env = tableOf(kernel).apps.get(application)?.spec.env
    return env !== undefined && key in env ? Option.some(env[key]) : Option.none()
  })

/**
 * Orders applications so that each comes after its dependencies; refuses a cycle or a
 * dependency that is not in the list.
 *
 * @since 0.1.0
 */
export const startOrder = <A extends ApplicationLike>(
  applications: ReadonlyArray<A>
): Effect.Effect<ReadonlyArray<A>, MissingDependency | DependencyCycle> =>
  Effect.suspend(() => {
    const byName = new Map(applications.map((a) => [a.name, a]))
    const order: Array<A> = []
    const done = new Set<string>()
    const visiting: Array<string> = []
    const visit = (app: A): MissingDependency | DependencyCycle | undefined => {
      if (done.has(app.name)) return undefined
      const at = visiting.indexOf(app.name)
      if (at >= 0) return new DependencyCycle({ cycle: [...visiting.slice(at), app.name] })
      visiting.push(app.name)
      for (const dependency of app.dependencies ?? []) {
        const dep = byName.get(dependency)
        if (dep === undefined) return new MissingDependency({ name: app.name, dependency })
        const error = visit(dep)
        if (error !== undefined) return error
      }
      visiting.pop()
      done.add(app.name)
      order.push(app)
      return undefined
    }
    for (const app of applications) {
      const error = visit(app)
      if (error !== undefined) return Effect.fail(error)
    }
    return Effect.succeed(order)
  })

/**
 * The running application as a service.
 *
 * @since 0.1.0
 */
export class Application extends Context.Tag("rain/Application")<Application, { readonly name: string; readonly root: Pid }>() {}

/**
 * Starts an application on the node in context for the layer's lifetime.
 *
 * @since 0.1.0
 */
export const layer = (spec: Spec, mode?: Mode): Layer.Layer<Application, AlreadyStarted | DependencyNotRunning | StartFailed | NotLoaded, Node> =>
  Layer.scoped(Application, startScoped(spec, mode))

const startScoped = (spec: Spec, mode?: Mode) =>
  Effect.flatMap(Node, (node) =>
    Effect.acquireRelease(
      Effect.map(start(node, spec, mode), (root) => ({ name: spec.name, root })),
      () => Effect.orDie(stop(node, spec.name))
    )) as Effect.Effect<{ readonly name: string; readonly root: Pid }, AlreadyStarted | DependencyNotRunning | StartFailed | NotLoaded, Node | Scope.Scope>
