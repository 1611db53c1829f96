import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric, Schema, TestClock } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import parse from "parse-prometheus-text-format"
import type { Family } from "parse-prometheus-text-format"
import { Node, Process } from "rain"
import * as Telemetry from "rain/Telemetry"

class Ping extends Schema.TaggedRequest<Ping>()("Ping", { failure: Schema.Never, success: Schema.String, payload: {} }) {}

const Echo = Process.make({
  name: "Echo",
  init: () => Effect.succeed(undefined),
  handleMessage: (_: string, s) => Effect.succeed(s),
  handleCall: (_: Ping, _from, s) => Effect.succeed(Process.reply("pong", s))
})

/** An HTTP request to the endpoint, bounded: the status, content type and body. */
const get = (url: string, method = "GET") =>
  Effect.promise(async () => {
    const response = await fetch(url, { method, signal: AbortSignal.timeout(5000) })
    return { status: response.status, type: response.headers.get("content-type") ?? "", body: await response.text() }
  })

const family = (families: ReadonlyArray<Family>, name: string): Family => {
  const found = families.find((f) => f.name === name)
  assert.isDefined(found, `no ${name} in ${families.map((f) => f.name).join(", ")}`)
  return found!
}

const sample = (f: Family, labels: Record<string, string>) => {
  const found = f.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  assert.isDefined(found, `no ${f.name} with ${JSON.stringify(labels)} in ${JSON.stringify(f.metrics)}`)
  return found!
}

describe("Telemetry.layerPrometheus", () => {
  it.scoped("serves the node's metrics and the program's own at /metrics, parsed by a Prometheus text parser", () =>
    Effect.gen(function*() {
      const { port, url } = yield* Telemetry.Prometheus
      assert.isAbove(port, 0)
      assert.strictEqual(url, `http://127.0.0.1:${port}/metrics`)
      const name = "scraped@localhost"
      const node = yield* Node.start(name)
      yield* Telemetry.publish(node, { interval: "1 second" })
      const echo = yield* node.spawn(Echo, undefined)
      yield* node.send(echo, "hello")
      assert.strictEqual(yield* node.call(echo, new Ping()), "pong")
      yield* Metric.increment(Metric.tagged(Metric.counter("app_orders", { incremental: true }), "shop", "main"))
      yield* TestClock.adjust("1 second")

      const response = yield* get(url)
      assert.strictEqual(response.status, 200)
      assert.include(response.type, "text/plain")
      const families = parse(response.body)
      assert.strictEqual(family(families, "rain_spawns_total").type, "COUNTER")
      assert.strictEqual(sample(family(families, "rain_spawns_total"), { node: name }).value, "1")
      assert.strictEqual(family(families, "rain_processes").type, "GAUGE")
      assert.strictEqual(sample(family(families, "rain_processes"), { node: name }).value, "1")
      assert.strictEqual(sample(family(families, "rain_calls_total"), { node: name }).value, "1")
      assert.isAtLeast(Number(sample(family(families, "rain_messages_in_total"), { node: name }).value), 2)
      const latency = family(families, "rain_call_duration_seconds")
      assert.strictEqual(latency.type, "HISTOGRAM")
      // The exporter writes _count and _sum before the buckets; this parser then keeps only the
      // buckets (no labels), which is enough to see the one call in the +Inf bucket.
      assert.isTrue(latency.metrics.some((m) => m.buckets?.["+Inf"] === "1"), JSON.stringify(latency.metrics))
      assert.match(response.body, new RegExp(`rain_call_duration_seconds_count\\{node="${name}"[^}]*\\} 1\n`))
      assert.strictEqual(family(families, "rain_mailbox_depth").type, "HISTOGRAM")
      assert.strictEqual(sample(family(families, "app_orders_total"), { shop: "main" }).value, "1")
    }).pipe(Effect.provide(Telemetry.layerPrometheus({ port: 0 }))))

  it.scoped("answers 404 off the path and 405 to other methods; a custom path is served", () =>
    Effect.gen(function*() {
      const { port, url } = yield* Telemetry.Prometheus
      assert.strictEqual(url, `http://127.0.0.1:${port}/prom`)
      assert.strictEqual((yield* get(url)).status, 200)
      const missing = yield* get(`http://127.0.0.1:${port}/metrics`)
      assert.strictEqual(missing.status, 404)
      assert.include(missing.body, "/prom")
      assert.strictEqual((yield* get(url, "POST")).status, 405)
    }).pipe(Effect.provide(Telemetry.layerPrometheus({ port: 0, path: "/prom" }))))

  it.scoped("bad options fail with InvalidTelemetryOption; a taken port with PrometheusListenFailed", () =>
    Effect.gen(function*() {
      const badPort = yield* Effect.flip(Layer.build(Telemetry.layerPrometheus({ port: -1 })))
      assert.strictEqual(badPort._tag, "rain/Telemetry/InvalidTelemetryOption")
      assert.include(badPort.message, "port")
      const badPath = yield* Effect.flip(Layer.build(Telemetry.layerPrometheus({ port: 0, path: "metrics" })))
      assert.strictEqual(badPath._tag, "rain/Telemetry/InvalidTelemetryOption")
      const taken = yield* Effect.acquireRelease(
        Effect.async<import("node:http").Server>((resume) => {
          const server = createServer()
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const port = (taken.address() as AddressInfo).port
      const error = yield* Effect.flip(Layer.build(Telemetry.layerPrometheus({ port })))
      assert.strictEqual(error._tag, "rain/Telemetry/PrometheusListenFailed")
      assert.include(error.message, String(port))
    }))

  it.scoped("the endpoint is closed with its scope", () =>
    Effect.gen(function*() {
      const url = yield* Telemetry.Prometheus.pipe(
        Effect.tap(({ url }) => Effect.map(get(url), (r) => assert.strictEqual(r.status, 200))),
        Effect.map(({ url }) => url),
        Effect.provide(Telemetry.layerPrometheus({ port: 0 }))
      )
      const refused = yield* Effect.tryPromise(() => fetch(url, { signal: AbortSignal.timeout(5000) })).pipe(Effect.flip)
      assert.isDefined(refused)
    }))
})
