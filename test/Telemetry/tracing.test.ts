import { assert, describe, it } from "@effect/vitest"
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Node, Process } from "rain"
import * as Telemetry from "rain/Telemetry"

class Ping extends Schema.TaggedRequest<Ping>()("Ping", { failure: Schema.Never, success: Schema.String, payload: {} }) {}

const cookie = "tracing-cookie"

/** Answers "pong" and logs, so that the log line carries the handler's span. */
const Echo = Process.make({
  name: "Echo",
  init: () => Effect.succeed(undefined),
  handleCall: (_: Ping, _from, s) => Effect.succeed(Process.reply("pong", s))
})

/** Calls its target (on another node) from its own handler: a request that crosses nodes. */
const Front = Process.make({
  name: "Front",
  init: (target: Process.Pid) => Effect.succeed(target),
  handleCall: (request: Ping, _from, target, ctx) =>
    Effect.map(ctx.call(target, request), (answer) => Process.reply(`front: ${answer}`, target))
})

/** Two nodes on TCP 127.0.0.1: b listens on port 0, a routes to it. */
const twoNodes = (tracing: { readonly a: boolean; readonly b: boolean }) =>
  Effect.gen(function*() {
    const b = yield* Node.start("b@127.0.0.1", {
      tracing: tracing.b,
      log: { level: "Warning" },
      network: { host: "127.0.0.1", port: 0, cookie, messages: [Ping] }
    })
    const a = yield* Node.start("a@127.0.0.1", {
      tracing: tracing.a,
      log: { level: "Warning" },
      network: { host: "127.0.0.1", port: 0, cookie, messages: [Ping], routes: { "b@127.0.0.1": `127.0.0.1:${b.port}` } }
    })
    return { a, b }
  })

const named = (spans: ReadonlyArray<ReadableSpan>, name: string, node: string) =>
  spans.filter((s) => s.name === name && s.attributes["rain.node"] === node)

describe("tracing: true", () => {
  it.scopedLive("one trace shows a request crossing two nodes over TCP; the remote handler's span is the caller's child", () => {
    const exporter = new InMemorySpanExporter()
    return Effect.gen(function*() {
      const { a, b } = yield* twoNodes({ a: true, b: true })
      const echo = yield* b.spawn(Echo, undefined, { name: "echo" })
      const front = yield* a.spawn(Front, echo)
      const answer = yield* a.call(front, new Ping(), "5 seconds").pipe(Effect.withSpan("request"))
      assert.strictEqual(answer, "front: pong")

      const spans = exporter.getFinishedSpans()
      const root = spans.find((s) => s.name === "request")!
      assert.isDefined(root)
      // a (plain Effect) -> Front on a: a client span, and Front's handler under it.
      const [toFront] = named(spans, "rain.call", "a@127.0.0.1").filter((s) => s.attributes["rain.pid"] === undefined)
      assert.isDefined(toFront, JSON.stringify(spans.map((s) => [s.name, s.attributes])))
      assert.strictEqual(toFront!.parentSpanContext?.spanId, root.spanContext().spanId)
      const [frontHandler] = named(spans, "rain.handleCall", "a@127.0.0.1")
      assert.strictEqual(frontHandler!.attributes["rain.behaviour"], "Front")
      assert.strictEqual(frontHandler!.parentSpanContext?.spanId, toFront!.spanContext().spanId)
      // Front on a -> Echo on b, over the wire.
      const [toEcho] = named(spans, "rain.call", "a@127.0.0.1").filter((s) => s.attributes["rain.pid"] !== undefined)
      assert.strictEqual(toEcho!.parentSpanContext?.spanId, frontHandler!.spanContext().spanId)
      assert.strictEqual(toEcho!.attributes["rain.target"], echo.toString())
      const [echoHandler] = named(spans, "rain.handleCall", "b@127.0.0.1")
      assert.isDefined(echoHandler, "the handler on b ran under a span")
      assert.strictEqual(echoHandler!.attributes["rain.behaviour"], "Echo")
      // the request's type, and the process's name when it has one
      assert.strictEqual(echoHandler!.attributes["rain.request"], "Ping")
      assert.strictEqual(echoHandler!.attributes["rain.name"], "echo")
      assert.notProperty(frontHandler!.attributes, "rain.name")
      assert.strictEqual(echoHandler!.parentSpanContext?.spanId, toEcho!.spanContext().spanId)
      // One trace for all of it.
      const traceId = root.spanContext().traceId
      for (const span of [toFront!, frontHandler!, toEcho!, echoHandler!]) assert.strictEqual(span.spanContext().traceId, traceId)
      assert.strictEqual(echoHandler!.kind, 1) // SpanKind.SERVER
      assert.strictEqual(toEcho!.kind, 2) // SpanKind.CLIENT
    }).pipe(Effect.provide(Telemetry.layerTracing({ exporter, serviceName: "rain-test" })))
  }, { timeout: 30_000 })

  it.scopedLive("without tracing (the default) a call makes no span and sends no trace context, even to a traced node", () => {
    const exporter = new InMemorySpanExporter()
    return Effect.gen(function*() {
      const { a, b } = yield* twoNodes({ a: false, b: true })
      const echo = yield* b.spawn(Echo, undefined)
      assert.strictEqual(yield* a.call(echo, new Ping(), "5 seconds").pipe(Effect.withSpan("request")), "pong")
      const spans = exporter.getFinishedSpans()
      assert.deepStrictEqual(spans.map((s) => s.name), ["request"])
    }).pipe(Effect.provide(Telemetry.layerTracing({ exporter })))
  }, { timeout: 30_000 })

  it.scopedLive("spans reach an OTLP/HTTP collector (a loopback server standing in for one)", () =>
    Effect.gen(function*() {
      const received: Array<{ readonly path: string; readonly type: string; readonly body: Buffer }> = []
      const collector = yield* Effect.acquireRelease(
        Effect.async<import("node:http").Server>((resume) => {
          const server = createServer((request, response) => {
            const chunks: Array<Buffer> = []
            request.on("data", (chunk: Buffer) => chunks.push(chunk))
            request.on("end", () => {
              received.push({ path: request.url ?? "", type: request.headers["content-type"] ?? "", body: Buffer.concat(chunks) })
              response.statusCode = 200
              response.end()
            })
          })
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const url = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`
      // The layer's scope ends with this block: the tracer provider shuts down and flushes its batch.
      yield* Effect.scoped(
        Effect.gen(function*() {
          const node = yield* Node.start("otlp@localhost", { tracing: true, log: { level: "Warning" } })
          const echo = yield* node.spawn(Echo, undefined)
          assert.strictEqual(yield* node.call(echo, new Ping()), "pong")
        })
      ).pipe(Effect.provide(Telemetry.layerTracing({ serviceName: "rain-otlp-test", otlp: { url } })))
      assert.isAtLeast(received.length, 1)
      const all = Buffer.concat(received.map((r) => r.body)).toString("latin1")
      assert.strictEqual(received[0]!.path, "/v1/traces")
      assert.include(all, "rain.call")
      assert.include(all, "rain.handleCall")
      assert.include(all, "rain-otlp-test")
    }), { timeout: 30_000 })

  it.effect("a bad OTLP url or processor fails with InvalidTelemetryOption", () =>
    Effect.gen(function*() {
      const url = yield* Effect.flip(Layer.build(Telemetry.layerTracing({ otlp: { url: "not a url" } })).pipe(Effect.scoped))
      assert.strictEqual(url._tag, "rain/Telemetry/InvalidTelemetryOption")
      assert.include(url.message, "otlp.url")
      const processor = yield* Effect.flip(
        Layer.build(Telemetry.layerTracing({ processor: "eager" as "batch" })).pipe(Effect.scoped)
      )
      assert.include(processor.message, "processor")
    }))
})
