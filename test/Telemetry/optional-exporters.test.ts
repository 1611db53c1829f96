/**
 * Each exporter package is needed only by the layer that uses it: a program serving Prometheus
 * alone runs without `@opentelemetry/exporter-trace-otlp-http` installed, one that traces to
 * its own exporter without `@opentelemetry/exporter-prometheus`, and the layer whose package is
 * missing fails with `InvalidTelemetryOption` naming the package to install.
 *
 * The package is made absent for real in a child `node`: a module resolve hook refuses it as
 * Node refuses a package that is not installed (`ERR_MODULE_NOT_FOUND`).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { jsonResult, runWithout as run, srcUrl } from "../fixtures/without-package.js"

const program = `
import { Effect, Layer } from "effect"
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base"
import * as Telemetry from ${srcUrl("Telemetry/index.ts")}

const outcome = (layer) =>
  Effect.scoped(Layer.build(layer)).pipe(
    Effect.as("ok"),
    Effect.catchAll((e) => Effect.succeed(e._tag + ": " + e.message))
  )

const main = Effect.gen(function*() {
  const prometheus = yield* Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(Telemetry.layerPrometheus({ port: 0 }))
    const { url } = context.unsafeMap.get(Telemetry.Prometheus.key)
    const response = yield* Effect.promise(() => fetch(url))
    return response.status === 200 ? "ok" : "status " + response.status
  })).pipe(Effect.catchAll((e) => Effect.succeed(e._tag + ": " + e.message)))
  const otlp = yield* outcome(Telemetry.layerTracing({ otlp: { url: "http://127.0.0.1:4318/v1/traces" } }))
  const own = yield* outcome(Telemetry.layerTracing({ exporter: new InMemorySpanExporter() }))
  console.log(JSON.stringify({ prometheus, otlp, own }))
})
Effect.runPromise(main)
`

/** Runs the program with `hidden` unresolvable; its one JSON line. */
const runWithout = (hidden: string) => Effect.flatMap(run(hidden, program), (ran) => jsonResult(hidden, ran))

describe("Telemetry without one exporter package installed", () => {
  it.live("Prometheus alone needs no OTLP exporter; tracing over OTLP says which package to install", () =>
    Effect.gen(function*() {
      const result = yield* runWithout("@opentelemetry/exporter-trace-otlp-http")
      assert.strictEqual(result["prometheus"], "ok")
      assert.strictEqual(result["own"], "ok")
      assert.include(result["otlp"], "InvalidTelemetryOption")
      assert.include(result["otlp"], "npm install @opentelemetry/exporter-trace-otlp-http")
    }), 60_000)

  it.live("tracing to an exporter of one's own needs no Prometheus exporter; Prometheus says which package", () =>
    Effect.gen(function*() {
      const result = yield* runWithout("@opentelemetry/exporter-prometheus")
      assert.strictEqual(result["own"], "ok")
      assert.strictEqual(result["otlp"], "ok")
      assert.include(result["prometheus"], "InvalidTelemetryOption")
      assert.include(result["prometheus"], "npm install @opentelemetry/exporter-prometheus")
    }), 60_000)
})
