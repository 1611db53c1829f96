/**
 * Registrars: how a node finds the address of another node by name. Like Erlang's
 * EPMD, the embedded registrar is served by the first node on a host on a well-known
 * port; the other nodes on that host register with it, and one of them takes over
 * when it goes away. Static routes need no server at all. Other backends (DNS, a
 * service registry) implement {@link Registrar}.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { embedded } from "./internal/embedded.js"

/**
 * A registrar could not register a node or look one up (the registry is unreachable, say).
 *
 * @since 0.1.0
 */
export class RegistrarError extends Schema.TaggedError<RegistrarError>()("RegistrarError", {
  operation: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `Could not ${this.operation}: ${this.detail}. Check the registrar port (network.registrar) or use static routes`
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
 * A name service for nodes: implement it for another backend (DNS, a service registry).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Registrar } from "rain"
 *
 * const fromTable = (table: Map<string, Registrar.Route>): Registrar.Registrar => ({
 *   register: () => Effect.void,
 *   lookup: (name) => Effect.succeed(table.get(name)),
 *   close: Effect.void
 * })
 * ```
 * @since 0.1.0
 */
export interface Registrar {
  /** Announces `name` at `port` until `close`. */
  register(name: string, port: number): Effect.Effect<void, RegistrarError>
  /** The address of a node, or undefined if it is not known. */
  lookup(name: string): Effect.Effect<Route | undefined, RegistrarError>
  /** Withdraws the registration (and stops serving, if this node served). */
  readonly close: Effect.Effect<void>
}

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
 * A fixed table of routes: node name to "host:port" or { host, port }.
 *
 * @since 0.1.0
 */
export const staticRoutes = (routes: Readonly<Record<string, string | Route>>): Registrar => ({
  register: () => Effect.void,
  lookup: (name) =>
    Effect.sync(() => {
      const route = routes[name]
      if (route === undefined || typeof route !== "string") return route
      const i = route.lastIndexOf(":")
      return { host: route.slice(0, i), port: Number(route.slice(i + 1)) }
    }),
  close: Effect.void
})
