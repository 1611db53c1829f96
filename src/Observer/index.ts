/**
 * The web observer: a live web UI for a running node and every node it is connected to
 * (Erlang's `observer`, Ergo's Observer). It shows the nodes (uptime, creation, connections
 * with bytes and messages in and out), the applications and their supervision trees with
 * restart counts, a process table sorted and paged on the node (100k processes cost one
 * page), one process in detail (state rendered safely and cut, links, monitors, mailbox
 * lanes, supervisor, the last messages it handled while tracing is on) with actions (send a
 * test message, turn tracing on or off, kill), and live charts per node.
 *
 * Every figure comes over the node control plane (`Control` in `rain/Rpc`), for this node
 * and for each connected one, so one observer inspects a whole cluster. The observer is
 * read-only unless `readOnly: false`, answers only requests that carry its token, and binds
 * 127.0.0.1 unless told otherwise. Its frontend is plain TypeScript bundled with uPlot:
 * nothing is fetched from elsewhere at run time.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Node } from "rain"
 * import * as Observer from "rain/Observer"
 *
 * const program = Effect.gen(function*() {
 *   const { url } = yield* Observer.Observer
 *   yield* Effect.log(`observer at ${url}`)
 * }).pipe(Effect.provide(Observer.layer({ port: 4380 }).pipe(Layer.provide(Node.layer("app@127.0.0.1", {
 *   network: { cookie: "secret", port: 4370 }
 * })))))
 * ```
 * @since 0.2.0
 */
import type { Duration, Scope } from "effect"
import { Context, Effect, Layer, Schema } from "effect"
import type { NodeService } from "../Node/index.js"
import { Node } from "../Node/Service.js"
import * as Application from "../Application/index.js"
import type { Behaviour } from "../Process/Behaviour.js"
import * as Supervisor from "../Supervisor/index.js"
import * as processInternal from "./internal/process.js"
import * as internal from "./internal/server.js"

/**
 * How to serve the observer.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** The port to listen on (default 0: a free port; read it from `Observer.port` or `url`). */
  readonly port?: number | undefined
  /** The address to bind (default "127.0.0.1": only this machine reaches it). */
  readonly host?: string | undefined
  /**
   * The token every request must carry (`Authorization: Bearer <token>`, or `?token=` for
   * the page). Default: a fresh random one, printed in `url`.
   */
  readonly token?: string | undefined
  /** Refuse the actions that change the node (kill, send). Default true. */
  readonly readOnly?: boolean | undefined
  /** How often the charts sample every node (default 1 second). */
  readonly sampleInterval?: Duration.DurationInput | undefined
  /** How many samples the charts keep per node (default 300). */
  readonly history?: number | undefined
}

/**
 * A running observer: where it listens and the URL to open (with its token).
 *
 * @since 0.2.0
 * @category models
 */
export interface ObserverService {
  readonly host: string
  readonly port: number
  readonly token: string
  readonly readOnly: boolean
  /** `http://host:port/?token=...`: open it in a browser. */
  readonly url: string
}

/**
 * The observer a layer started.
 *
 * @since 0.2.0
 * @category tags
 */
export class Observer extends Context.Tag("rain/Observer")<Observer, ObserverService>() {}

/**
 * The observer could not start: bad options (`reason` "options"), a node without network
 * (its control plane is what the observer reads: "network"), or the port could not be bound
 * ("listen"). `detail` says which and what to do.
 *
 * @since 0.2.0
 * @category errors
 */
export class ObserverStartFailed extends Schema.TaggedError<ObserverStartFailed>()("rain/Observer/StartFailed", {
  reason: Schema.Literal("options", "network", "listen"),
  detail: Schema.String
}) {
  override get message(): string {
    return `The observer did not start: ${this.detail}`
  }
}

/**
 * Asks an observer process (`Observer.Server`, or the `rain_observer` process of
 * `Observer.application`) for its URL, token included.
 *
 * @since 0.2.0
 * @category requests
 */
export class GetUrl extends Schema.TaggedRequest<GetUrl>()("rain/Observer/GetUrl", {
  failure: Schema.Never,
  success: Schema.String,
  payload: {}
}) {}

/**
 * Serves the observer of `node` for the life of the scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node } from "rain"
 * import * as Observer from "rain/Observer"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@127.0.0.1", { network: { cookie: "secret", port: 0 } })
 *   const observer = yield* Observer.start(node, { readOnly: false })
 *   console.log(observer.url)
 * }))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const start: (node: NodeService, options?: Options) => Effect.Effect<
  ObserverService,
  ObserverStartFailed,
  Scope.Scope
> = internal.start

/**
 * The observer as a layer on the node of the context: serves while the layer lives and
 * provides `Observer` (its URL).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<Observer, ObserverStartFailed, Node> =>
  Layer.scoped(Observer, Node.pipe(Effect.flatMap((node) => internal.start(node, options))))

/**
 * The observer as a process, for a supervisor to own: its args are the `Options`; it
 * answers `GetUrl`; its exit (however it exits) closes the server and frees the port. Its
 * init fails with `ObserverStartFailed` as `start` does.
 *
 * @example
 * ```ts
 * import { Supervisor } from "rain"
 * import * as Observer from "rain/Observer"
 *
 * const tree = Supervisor.oneForOne().pipe(
 *   Supervisor.child({ id: "observer", behaviour: Observer.Server, args: { port: 4380 }, name: "observer" })
 * )
 * ```
 * @since 0.2.0
 * @category behaviours
 */
export const Server: Behaviour<ObserverService, Options | undefined, never, GetUrl, ObserverStartFailed, never> =
  processInternal.Server

/**
 * The observer as an application (`rain_observer`, one supervised `Server` registered as
 * `rain_observer`), to start with the node: `Node.start(name, { applications: [Observer.application()] })`.
 * Ask it for its URL with `node.call("rain_observer", new Observer.GetUrl())`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const application = (options?: Options): Application.Spec =>
  Application.make({
    name: "rain_observer",
    version: "0.2.0",
    description: "Rain's web observer",
    root: Supervisor.oneForOne({ intensity: 3, period: "1 minute" }).pipe(
      Supervisor.child({ id: "observer", behaviour: Server, args: options, name: "rain_observer" })
    )
  })
