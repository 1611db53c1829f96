/**
 * The data of `rain/Telemetry`: options, the Prometheus endpoint service and the errors.
 *
 * @since 0.2.0
 */
import type { SpanExporter } from "@opentelemetry/sdk-trace-base"
import type { Duration } from "effect"
import { Context, Schema } from "effect"

/**
 * Options of `Telemetry.publish` and `Telemetry.layer`.
 *
 * @since 0.2.0
 * @category models
 */
export interface PublishOptions {
  /** How often the node's counters are published to `effect/Metric` (default 5 seconds, Clock time). */
  readonly interval?: Duration.DurationInput | undefined
}

/**
 * Options of `Telemetry.layerPrometheus`.
 *
 * @since 0.2.0
 * @category models
 */
export interface PrometheusOptions {
  /** Port to listen on (default 9464, Prometheus' registered port for OpenTelemetry; 0 picks a free one). */
  readonly port?: number | undefined
  /** Host to listen on (default "127.0.0.1"; "0.0.0.0" for every interface). */
  readonly host?: string | undefined
  /** The path of the text exposition (default "/metrics"). */
  readonly path?: string | undefined
  /** `service.name` of the OpenTelemetry resource (default "rain"). */
  readonly serviceName?: string | undefined
}

/**
 * Options of `Telemetry.layerTracing`.
 *
 * @since 0.2.0
 * @category models
 */
export interface TracingOptions {
  /** `service.name` of the OpenTelemetry resource (default "rain"). */
  readonly serviceName?: string | undefined
  /**
   * The OTLP/HTTP collector to export to, when no `exporter` is given. Without a `url`,
   * the OpenTelemetry default (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else
   * `http://localhost:4318/v1/traces`).
   */
  readonly otlp?: {
    readonly url?: string | undefined
    readonly headers?: Readonly<Record<string, string>> | undefined
  } | undefined
  /**
   * Any OpenTelemetry `SpanExporter` instead of OTLP: `InMemorySpanExporter` in tests,
   * `ConsoleSpanExporter` to look at spans.
   */
  readonly exporter?: SpanExporter | undefined
  /** "batch" (default with OTLP) or "simple" (each span exported as it ends; default with `exporter`). */
  readonly processor?: "batch" | "simple" | undefined
}

/**
 * Where the Prometheus endpoint listens.
 *
 * @since 0.2.0
 * @category models
 */
export interface PrometheusEndpoint {
  readonly host: string
  readonly port: number
  /** The URL to scrape, such as `http://127.0.0.1:9464/metrics`. */
  readonly url: string
}

/**
 * The running Prometheus endpoint (`Telemetry.layerPrometheus`).
 *
 * @since 0.2.0
 * @category tags
 */
export class Prometheus extends Context.Tag("rain/Telemetry/Prometheus")<Prometheus, PrometheusEndpoint>() {}

/**
 * A telemetry option has a value it cannot take.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidTelemetryOption extends Schema.TaggedError<InvalidTelemetryOption>()("rain/Telemetry/InvalidTelemetryOption", {
  option: Schema.String,
  value: Schema.Unknown,
  expected: Schema.String
}) {
  override get message(): string {
    return `Telemetry option ${this.option} is ${JSON.stringify(this.value) ?? String(this.value)}: it must be ${this.expected}.`
  }
}

/**
 * The Prometheus endpoint could not listen (port taken, host not local, no permission).
 *
 * @since 0.2.0
 * @category errors
 */
export class PrometheusListenFailed extends Schema.TaggedError<PrometheusListenFailed>()("rain/Telemetry/PrometheusListenFailed", {
  host: Schema.String,
  port: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `The Prometheus endpoint could not listen on ${this.host}:${this.port}: ${this.reason}. ` +
      "Pick another port (0 for any free one) or a host address of this machine."
  }
}
