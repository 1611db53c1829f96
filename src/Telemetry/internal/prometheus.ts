/**
 * The Prometheus endpoint: Effect's metrics (Rain's and the program's own) reach the
 * OpenTelemetry metrics SDK through `@effect/opentelemetry`'s producer, and the
 * OpenTelemetry Prometheus exporter writes the text exposition format. The exporter's own
 * server is not used (it cannot say which port it got for port 0): a plain `node:http`
 * server on the asked host and port routes the endpoint to the exporter's handler.
 *
 * @internal
 */
import { createServer } from "node:http"
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as Metrics from "@effect/opentelemetry/Metrics"
import * as Resource from "@effect/opentelemetry/Resource"
import type { PrometheusExporter } from "@opentelemetry/exporter-prometheus"
import { Effect, Layer } from "effect"
import type { PrometheusEndpoint, PrometheusOptions } from "../types.js"
import { InvalidTelemetryOption, Prometheus as PrometheusTag, PrometheusListenFailed } from "../types.js"

/** Checks the options: the endpoint's fields, or why not. */
const check = (
  options: PrometheusOptions
): Effect.Effect<{ readonly port: number; readonly host: string; readonly path: string }, InvalidTelemetryOption> => {
  const port = options.port ?? 9464
  const host = options.host ?? "127.0.0.1"
  const path = options.path ?? "/metrics"
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    return Effect.fail(new InvalidTelemetryOption({ option: "port", value: port, expected: "an integer from 0 to 65535 (0: any free port)" }))
  }
  if (typeof host !== "string" || host === "") {
    return Effect.fail(new InvalidTelemetryOption({ option: "host", value: host, expected: "a host name or address to listen on" }))
  }
  if (typeof path !== "string" || !path.startsWith("/")) {
    return Effect.fail(new InvalidTelemetryOption({ option: "path", value: path, expected: `a path that starts with "/"` }))
  }
  return Effect.succeed({ port, host, path })
}

/** Serves the exporter's text on `path`; the address it listens on, closed with the scope. */
const serve = (exporter: PrometheusExporter, host: string, port: number, path: string) =>
  Effect.acquireRelease(
    Effect.async<PrometheusEndpoint & { readonly server: Server }, PrometheusListenFailed>((resume) => {
      const server = createServer((request, response) => {
        const pathname = (request.url ?? "/").split("?")[0] ?? "/"
        if (request.method !== "GET" && request.method !== "HEAD") {
          response.statusCode = 405
          response.setHeader("allow", "GET, HEAD")
          response.end("Method Not Allowed")
        } else if (pathname === path) {
          exporter.getMetricsRequestHandler(request, response)
        } else {
          response.statusCode = 404
          response.end(`Not Found: metrics are served at ${path}`)
        }
      })
      server.once("error", (error) => resume(Effect.fail(new PrometheusListenFailed({ host, port, reason: error.message }))))
      server.listen(port, host, () => {
        const address = server.address() as AddressInfo
        const shown = address.family === "IPv6" ? `[${address.address}]` : address.address
        resume(Effect.succeed({ host: address.address, port: address.port, url: `http://${shown}:${address.port}${path}`, server }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  ).pipe(Effect.map(({ host, port, url }): PrometheusEndpoint => ({ host, port, url })))

/** The endpoint as a layer: the OpenTelemetry bridge for Effect's metrics and the HTTP server. */
export const layer = (options: PrometheusOptions) =>
  Layer.unwrapScoped(
    Effect.gen(function*() {
      const { host, path, port } = yield* check(options)
      // Imported only when used: a program that traces alone needs no Prometheus package.
      const { PrometheusExporter: Exporter } = yield* Effect.tryPromise({
        try: () => import("@opentelemetry/exporter-prometheus"),
        catch: (e) =>
          new InvalidTelemetryOption({
            option: "prometheus",
            value: e instanceof Error ? e.message : String(e),
            expected: "served by @opentelemetry/exporter-prometheus, which is not installed: " +
              "npm install @opentelemetry/exporter-prometheus"
          })
      })
      const exporter = new Exporter({ preventServerStart: true })
      const endpoint = yield* serve(exporter, host, port, path)
      return Layer.succeed(PrometheusTag, endpoint).pipe(
        Layer.merge(Metrics.layer(() => exporter)),
        Layer.provide(Resource.layer({ serviceName: options.serviceName ?? "rain" }))
      )
    })
  )
