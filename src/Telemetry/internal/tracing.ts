/**
 * Tracing through OpenTelemetry: an OpenTelemetry tracer provider (the SDK's
 * `BasicTracerProvider`, a span processor and an exporter: OTLP over HTTP by default) made
 * the Effect `Tracer` by `@effect/opentelemetry`. With `tracing: true` on a node, its
 * calls become spans through it, and the handlers of traced calls run under child spans.
 *
 * @internal
 */
import * as Resource from "@effect/opentelemetry/Resource"
import * as OtelTracer from "@effect/opentelemetry/Tracer"
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import type { SpanExporter } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer } from "effect"
import type { TracingOptions } from "../types.js"
import { InvalidTelemetryOption } from "../types.js"

const checkUrl = (url: string | undefined): Effect.Effect<string | undefined, InvalidTelemetryOption> => {
  if (url === undefined) return Effect.succeed(undefined)
  try {
    const parsed = new URL(url)
    if (parsed.protocol === "http:" || parsed.protocol === "https:") return Effect.succeed(url)
  } catch {
    // fall through
  }
  return Effect.fail(
    new InvalidTelemetryOption({ option: "otlp.url", value: url, expected: "an http(s) URL such as http://127.0.0.1:4318/v1/traces" })
  )
}

/** The tracer provider, shut down (its spans flushed) when the layer's scope closes. */
const provider = (exporter: SpanExporter, processor: "batch" | "simple") =>
  Layer.scoped(
    OtelTracer.OtelTracerProvider,
    Effect.flatMap(Resource.Resource, (resource) =>
      Effect.acquireRelease(
        Effect.sync(() =>
          new BasicTracerProvider({
            resource,
            spanProcessors: [processor === "simple" ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)]
          })
        ),
        (p) => Effect.promise(() => p.shutdown().catch(() => undefined))
      ))
  )

/** The Effect `Tracer` backed by OpenTelemetry, exporting where the options say. */
export const layer = (options: TracingOptions): Layer.Layer<never, InvalidTelemetryOption> =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      const processor = options.processor ?? (options.exporter === undefined ? "batch" : "simple")
      if (processor !== "batch" && processor !== "simple") {
        return yield* new InvalidTelemetryOption({ option: "processor", value: processor, expected: `"batch" or "simple"` })
      }
      const url = yield* checkUrl(options.otlp?.url)
      // Imported only when used, so that a program with an exporter of its own (or Prometheus
      // alone) needs no OTLP package installed.
      const exporter = options.exporter ??
        new (yield* Effect.tryPromise({
          try: () => import("@opentelemetry/exporter-trace-otlp-http"),
          catch: (e) =>
            new InvalidTelemetryOption({
              option: "otlp",
              value: e instanceof Error ? e.message : String(e),
              expected: "exported by @opentelemetry/exporter-trace-otlp-http, which is not installed: " +
                "npm install @opentelemetry/exporter-trace-otlp-http, or give an exporter of your own (exporter)"
            })
        })).OTLPTraceExporter({
          ...(url === undefined ? {} : { url }),
          ...(options.otlp?.headers === undefined ? {} : { headers: { ...options.otlp.headers } })
        })
      return OtelTracer.layer.pipe(
        Layer.provide(provider(exporter, processor)),
        Layer.provide(Resource.layer({ serviceName: options.serviceName ?? "rain" }))
      )
    })
  )
