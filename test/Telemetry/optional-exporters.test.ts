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
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))

const hooks = `
let hidden = ""
export async function initialize(data) { hidden = data.hidden }
export async function resolve(specifier, context, next) {
  if (specifier === hidden) {
    const error = new Error("Cannot find package '" + specifier + "'")
    error.code = "ERR_MODULE_NOT_FOUND"
    throw error
  }
  return next(specifier, context)
}
`

const hide = (hooksUrl: string) => `
import { register } from "node:module"
register(${JSON.stringify(hooksUrl)}, { data: { hidden: process.env.RAIN_HIDE } })
`

const program = `
import { Effect, Layer } from "effect"
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base"
import * as Telemetry from ${JSON.stringify(pathToFileURL(path.join(root, "src/Telemetry/index.ts")).href)}

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

/** Runs the program in a child node with `hidden` unresolvable; its one JSON line. */
const runWithout = (hidden: string) =>
  Effect.async<Record<string, string>, Error>((resume) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rain-telemetry-"))
    fs.writeFileSync(path.join(dir, "hooks.mjs"), hooks)
    fs.writeFileSync(path.join(dir, "hide.mjs"), hide(pathToFileURL(path.join(dir, "hooks.mjs")).href))
    // inside the repository so that its node_modules resolve
    const file = path.join(root, "test", "Telemetry", `.optional-exporters-${process.pid}-${Date.now()}.mts`)
    fs.writeFileSync(file, program)
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--import", pathToFileURL(path.join(dir, "hide.mjs")).href, file],
      { cwd: root, env: { ...process.env, NODE_OPTIONS: "", RAIN_HIDE: hidden } }
    )
    let out = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (out += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), 40_000)
    child.on("close", (code) => {
      clearTimeout(timer)
      fs.rmSync(file, { force: true })
      fs.rmSync(dir, { recursive: true, force: true })
      const line = out.split("\n").find((l) => l.startsWith("{"))
      resume(
        line === undefined
          ? Effect.fail(new Error(`the program (without ${hidden}) exited ${code} with no result:\n${out.slice(-3000)}`))
          : Effect.succeed(JSON.parse(line))
      )
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

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
