/**
 * Telemetry for Rain nodes: their figures as `effect/Metric` series, a Prometheus
 * endpoint, and OpenTelemetry traces of calls across nodes. An entry point of its own
 * (`rain/Telemetry`) because it needs `@effect/opentelemetry` and the OpenTelemetry SDK
 * (optional peer dependencies of `rain`).
 *
 * - `publish` / `layer`: the node's counters (kept by the kernel in plain fields, so the hot
 *   paths pay no Metric update) are published to `effect/Metric` on an interval, tagged
 *   `node`: processes, spawns, exits by reason, restarts by supervisor, messages in/out,
 *   refusals and drops by cause, mailbox depth (sampled), calls, call latency, calls timed
 *   out, per-peer bytes/frames, connects/reconnects, handshake failures by reason.
 * - `layerPrometheus`: every Effect metric of the program (Rain's and its own) served in
 *   Prometheus' text format, through `@effect/opentelemetry` and the OpenTelemetry
 *   Prometheus exporter.
 * - `layerTracing`: the Effect `Tracer` backed by OpenTelemetry (OTLP by default). Start
 *   nodes with `tracing: true` and each `call` is a span whose context travels with the
 *   request, to other nodes too: the callee's handler runs under a child span.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Node } from "rain"
 * import * as Telemetry from "rain/Telemetry"
 *
 * const program = Effect.gen(function*() {
 *   const { url } = yield* Telemetry.Prometheus
 *   yield* Effect.log(`metrics at ${url}`)
 * })
 *
 * const NodeLive = Node.layer("app@localhost", { tracing: true })
 * const main = program.pipe(
 *   Effect.provide(Telemetry.layer().pipe(Layer.provideMerge(NodeLive))),
 *   Effect.provide(Telemetry.layerPrometheus({ port: 9464 })),
 *   Effect.provide(Telemetry.layerTracing({ otlp: { url: "http://127.0.0.1:4318/v1/traces" } }))
 * )
 * ```
 * @since 0.2.0
 */
import type { Duration, Scope } from "effect"
import { Effect, Layer } from "effect"
import { Node } from "../Node/Service.js"
import type { NodeService } from "../Node/index.js"
import * as prometheus from "./internal/prometheus.js"
import * as publisher from "./internal/publisher.js"
import * as tracing from "./internal/tracing.js"
import type { PrometheusOptions, PublishOptions, TracingOptions } from "./types.js"
import { InvalidTelemetryOption, Prometheus, PrometheusListenFailed } from "./types.js"

export {
  /**
   * A telemetry option has a value it cannot take.
   *
   * @since 0.2.0
   * @category errors
   */
  InvalidTelemetryOption,
  /**
   * The running Prometheus endpoint: its host, port and URL.
   *
   * @since 0.2.0
   * @category tags
   */
  Prometheus,
  /**
   * The Prometheus endpoint could not listen.
   *
   * @since 0.2.0
   * @category errors
   */
  PrometheusListenFailed
}

export type {
  /**
   * Where the Prometheus endpoint listens.
   *
   * @since 0.2.0
   * @category models
   */
  PrometheusEndpoint,
  /**
   * Options of `layerPrometheus`.
   *
   * @since 0.2.0
   * @category models
   */
  PrometheusOptions,
  /**
   * Options of `publish` and `layer`.
   *
   * @since 0.2.0
   * @category models
   */
  PublishOptions,
  /**
   * Options of `layerTracing`.
   *
   * @since 0.2.0
   * @category models
   */
  TracingOptions
} from "./types.js"

/**
 * The `effect/Metric` series Rain publishes (each tagged `node`; some also `reason`,
 * `cause`, `supervisor`, `peer` or `window`), for programs that read them with
 * `Metric.value` or build on them. In Prometheus, counters get a `_total` suffix.
 *
 * @since 0.2.0
 * @category metrics
 */
export const metrics: typeof publisher.metrics = publisher.metrics

const checkInterval = (options: PublishOptions | undefined): Effect.Effect<Duration.Duration, InvalidTelemetryOption> => {
  const interval = publisher.intervalOf(options?.interval)
  return interval === undefined
    ? Effect.fail(
      new InvalidTelemetryOption({ option: "interval", value: options?.interval, expected: "a finite duration above zero, such as \"5 seconds\"" })
    )
    : Effect.succeed(interval)
}

/**
 * Publishes a node's figures to `effect/Metric` now and then every `interval` (default
 * 5 seconds, Clock time, so `TestClock` drives it), until the scope closes, when it
 * publishes once more. While it runs, the node also times its calls (two
 * `performance.now()` per call) for the latency histogram.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node } from "rain"
 * import * as Telemetry from "rain/Telemetry"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@localhost")
 *   yield* Telemetry.publish(node, { interval: "1 second" })
 * }))
 * ```
 * @since 0.2.0
 * @category publishing
 */
export const publish = (node: NodeService, options?: PublishOptions): Effect.Effect<void, InvalidTelemetryOption, Scope.Scope> =>
  Effect.flatMap(checkInterval(options), (interval) => publisher.publish(node, interval))

/**
 * `publish` as a layer, for the node in the context.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (options?: PublishOptions): Layer.Layer<never, InvalidTelemetryOption, Node> =>
  Layer.scopedDiscard(Effect.flatMap(Node, (node) => publish(node, options)))

/**
 * Serves every Effect metric of the program (Rain's, published by `publish`/`layer`, and
 * the program's own) at `http://host:port/metrics` in Prometheus' text format, through
 * `@effect/opentelemetry` and the OpenTelemetry Prometheus exporter. Closing the layer's
 * scope closes the server. Defaults: 127.0.0.1, port 9464, path /metrics.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import * as Telemetry from "rain/Telemetry"
 *
 * const program = Effect.gen(function*() {
 *   const { url } = yield* Telemetry.Prometheus
 *   console.log(url) // http://127.0.0.1:9464/metrics
 * }).pipe(Effect.provide(Telemetry.layerPrometheus()))
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layerPrometheus = (
  options: PrometheusOptions = {}
): Layer.Layer<Prometheus, InvalidTelemetryOption | PrometheusListenFailed> => prometheus.layer(options)

/**
 * The Effect `Tracer` backed by OpenTelemetry: spans exported over OTLP/HTTP (to
 * `otlp.url`), or to any `SpanExporter` given. Provide it around `Node.start` (or
 * `Node.layer`) of nodes started with `tracing: true`: their calls become spans, and the
 * handlers of traced calls run under child spans, on other nodes too.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node } from "rain"
 * import * as Telemetry from "rain/Telemetry"
 *
 * const program = Effect.scoped(Node.start("app@localhost", { tracing: true })).pipe(
 *   Effect.provide(Telemetry.layerTracing({ serviceName: "app", otlp: { url: "http://127.0.0.1:4318/v1/traces" } }))
 * )
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layerTracing = (options: TracingOptions = {}): Layer.Layer<never, InvalidTelemetryOption> => tracing.layer(options)
