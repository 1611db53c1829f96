/**
 * Registrars: how a node finds the address of another node by name. Like Erlang's
 * EPMD, the embedded registrar is served by the first node on a host on a well-known
 * port; the other nodes on that host register with it, and one of them takes over
 * when it goes away. Static routes need no server at all. A fleet across machines uses a
 * shared store: `rain/Etcd`. Other backends implement {@link Registrar} (or {@link Basic},
 * completed by {@link make}).
 *
 * @since 0.1.0
 */
import type { Stream } from "effect"
import { Data, Effect, Schema } from "effect"
import type { Mode } from "../Application/index.js"
import { embedded } from "./internal/embedded.js"
import { local } from "./internal/local.js"

/**
 * A registrar could not register a node or look one up (the registry is unreachable, say).
 *
 * @since 0.1.0
 */
export class RegistrarError extends Schema.TaggedError<RegistrarError>()("RegistrarError", {
  operation: Schema.String,
  detail: Schema.String,
  /** What to check (default: the embedded registrar's port, or static routes). */
  hint: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return `Could not ${this.operation}: ${this.detail}. ${
      this.hint ?? "Check the registrar port (network.registrar) or use static routes"
    }`
  }
}

/**
 * Where a node listens.
 *
 * @since 0.1.0
 */
export interface Route {
  readonly host: string
  readonly port: number
}

/**
 * An application a node runs, as a registrar announces it (Ergo's application route): which
 * node, which version, in which mode, and a weight for callers that pick one among several.
 *
 * @since 0.2.0
 * @category models
 */
export interface ApplicationRoute {
  readonly name: string
  readonly node: string
  readonly version: string
  readonly mode: Mode
  /** Higher is preferred by callers that pick one node (default 100). */
  readonly weight: number
}

/**
 * What a node announces about an application it starts (`node` is the registrar's own).
 *
 * @since 0.2.0
 * @category models
 */
export type ApplicationAnnouncement = Omit<ApplicationRoute, "node" | "weight"> & { readonly weight?: number | undefined }

/**
 * A change in the cluster a registrar sees: a node joined or left (its registration appeared or
 * went away: for etcd, its lease expired or was revoked), an application started or stopped on
 * a node, a shared configuration key was set or deleted (`value` undefined).
 *
 * @since 0.2.0
 * @category models
 */
export type ClusterEvent = Data.TaggedEnum<{
  NodeJoined: { readonly node: string; readonly route: Route }
  NodeLeft: { readonly node: string }
  ApplicationStarted: { readonly route: ApplicationRoute }
  ApplicationStopped: { readonly name: string; readonly node: string }
  ConfigUpdated: { readonly key: string; readonly value: unknown }
}>

/**
 * Constructors and matchers of {@link ClusterEvent}.
 *
 * @since 0.2.0
 * @category constructors
 */
export const ClusterEvent = Data.taggedEnum<ClusterEvent>()

/**
 * The three operations every registrar has: enough for a node to find others by name. Give one
 * to {@link make} to get a whole {@link Registrar}.
 *
 * @since 0.2.0
 * @category models
 */
export interface Basic {
  /** Announces `name` at `port` until `close`. */
  register(name: string, port: number): Effect.Effect<void, RegistrarError>
  /** The address of a node, or undefined if it is not known. */
  lookup(name: string): Effect.Effect<Route | undefined, RegistrarError>
  /** Withdraws the registration (and stops serving, if this node served). */
  readonly close: Effect.Effect<void>
}

/**
 * A name service for the nodes of a cluster: register and look up nodes, the list of nodes
 * and their comings and goings, which nodes run an application (Ergo's application discovery),
 * and a configuration shared by all nodes. A node registers its applications' routes as they
 * start and stop, and disconnects from a node the registrar says has left. Implement {@link Basic}
 * and pass it to {@link make} for a backend that only resolves names.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Registrar } from "rain"
 *
 * const fromTable = (table: Map<string, Registrar.Route>): Registrar.Registrar =>
 *   Registrar.make({
 *     register: () => Effect.void,
 *     lookup: (name) => Effect.succeed(table.get(name)),
 *     close: Effect.void
 *   })
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Registrar extends Basic {
  /** The names of the registered nodes, this one included once registered. */
  readonly nodes: Effect.Effect<ReadonlyArray<string>, RegistrarError>
  /** Membership, application and configuration changes seen from now on (each subscriber gets all). */
  readonly events: Stream.Stream<ClusterEvent>
  /** Announces that this node runs an application (replaces an earlier announcement of the same name). */
  registerApplication(application: ApplicationAnnouncement): Effect.Effect<void, RegistrarError>
  /** Withdraws this node's announcement of an application (nothing if there was none). */
  unregisterApplication(name: string): Effect.Effect<void, RegistrarError>
  /** The nodes that run an application, highest weight first. */
  resolveApplication(name: string): Effect.Effect<ReadonlyArray<ApplicationRoute>, RegistrarError>
  /** A shared configuration value, or undefined when the key is not set. */
  getConfig(key: string): Effect.Effect<unknown, RegistrarError>
  /** Sets a shared configuration value (any JSON value) for every node. */
  setConfig(key: string, value: unknown): Effect.Effect<void, RegistrarError>
  /** Deletes a shared configuration key (nothing if it was not set). */
  deleteConfig(key: string): Effect.Effect<void, RegistrarError>
  /** The whole shared configuration. */
  readonly config: Effect.Effect<ReadonlyMap<string, unknown>, RegistrarError>
}

/**
 * Makes a whole {@link Registrar} from the operations a backend has: the others are kept in
 * this node's memory, as for {@link staticRoutes} (nodes: this one and `known()`, applications
 * and configuration: this node's own, events: this node's own changes). A full registrar is
 * returned as it is.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (backend: Basic & Partial<Registrar>, known: () => ReadonlyArray<string> = () => []): Registrar =>
  isRegistrar(backend) ? backend : local(backend, known)

/**
 * Whether a registrar has the cluster operations (a {@link Basic} one from before 0.2.0 has not).
 *
 * @since 0.2.0
 * @category guards
 */
export const isRegistrar = (registrar: Basic): registrar is Registrar =>
  "events" in registrar && "resolveApplication" in registrar && "config" in registrar && "nodes" in registrar

/**
 * Options of the embedded registrar.
 *
 * @since 0.1.0
 */
export interface EmbeddedOptions {
  /** The registrar port of every host (default 4369 + 100 = 4469, so as not to clash with EPMD). Tests: a random free port. */
  readonly port?: number | undefined
  /** Interface the served registry listens on (default "127.0.0.1"). */
  readonly host?: string | undefined
}

/**
 * The embedded registrar (EPMD-like).
 *
 * @example
 * ```ts
 * import { Node, Registrar } from "rain"
 *
 * const node = Node.start("a@127.0.0.1", { network: { cookie: "secret", registrar: Registrar.embeddedRegistrar({ port: 4469 }) } })
 * ```
 * @since 0.1.0
 */
export const embeddedRegistrar = (options: EmbeddedOptions = {}): Registrar => embedded(options.port ?? 4469, options.host ?? "127.0.0.1")

/**
 * A fixed table of routes: node name to "host:port" or { host, port }. Cluster operations are
 * this node's own: `nodes` is the table's names and this node, applications resolve to this
 * node only, the configuration is not shared, and the events are this node's own changes.
 *
 * @since 0.1.0
 */
export const staticRoutes = (routes: Readonly<Record<string, string | Route>>): Registrar =>
  make({
    register: () => Effect.void,
    lookup: (name) =>
      Effect.sync(() => {
        const route = routes[name]
        if (route === undefined || typeof route !== "string") return route
        const i = route.lastIndexOf(":")
        return { host: route.slice(0, i), port: Number(route.slice(i + 1)) }
      }),
    close: Effect.void
  }, () => Object.keys(routes))
