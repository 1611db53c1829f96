/**
 * The gateway beside a direct call, in the same process and run: a counter process
 * called with `Increment` by `node.call` (direct), by an `RpcClient` over HTTP and by one
 * over WebSocket through `Gateway.Server` (ndjson), each with the same number of concurrent
 * callers, rounds alternating so that drift hits all alike. The clients run in this process
 * too, so a figure includes both sides' CPU. Prints `{"direct": n, "http": n, "ws": n}`
 * (calls/s, medians of the rounds) after checking the counter saw every call.
 *
 *   node --import tsx bench/gateway.ts [--quick]
 */
import { FetchHttpClient } from "@effect/platform"
import { NodeSocket } from "@effect/platform-node"
import { RpcClient, RpcSerialization } from "@effect/rpc"
import type { Scope } from "effect"
import { Effect, Layer, Logger, LogLevel, Schema } from "effect"
import { Node, Process } from "../src/index.js"
import { Gateway } from "../src/Rpc/index.js"

class Increment extends Schema.TaggedRequest<Increment>()("Increment", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: { by: Schema.Number }
}) {}

const Counter = Process.make({
  name: "Counter",
  init: () => Effect.succeed(0),
  handleCall: (request: Increment, _from, count) =>
    Effect.succeed(Process.reply(count + request.by, count + request.by))
})

const quick = process.argv.includes("--quick")
const CALLERS = 16
const CALLS = quick ? 320 : 4_000
const ROUNDS = quick ? 1 : 3
const WARMUP = quick ? 50 : 200

const CounterRpcs = Gateway.group([Increment])

/** `CALLS` calls spread over `CALLERS` sequential callers; calls per second. */
const measure = (call: Effect.Effect<number, unknown>): Effect.Effect<number, unknown> =>
  Effect.gen(function*() {
    const start = performance.now()
    yield* Effect.forEach(
      Array.from({ length: CALLERS }, () => CALLS / CALLERS),
      (n) => Effect.repeatN(call, n - 1),
      { concurrency: "unbounded", discard: true }
    )
    return CALLS / ((performance.now() - start) / 1000)
  })

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[values.length >> 1]!

const client = (protocol: Layer.Layer<RpcClient.Protocol>) =>
  Effect.flatMap(Layer.build(protocol), (context) => RpcClient.make(CounterRpcs).pipe(Effect.provide(context)))

const program: Effect.Effect<Record<string, number>, unknown, Scope.Scope> = Effect.gen(function*() {
  const node = yield* Node.start("bench@localhost")
  const counter = yield* node.spawn(Counter, undefined, { name: "counter" })
  const gateway = yield* node.spawn(Gateway.Server, { port: 0, expose: { counter: [Increment] } })
  const { http, webSocket } = yield* node.call(gateway, new Gateway.GetEndpoints())
  const overHttp = yield* client(
    RpcClient.layerProtocolHttp({ url: http! }).pipe(
      Layer.provide([FetchHttpClient.layer, RpcSerialization.layerNdjson])
    )
  )
  const overWs = yield* client(
    RpcClient.layerProtocolSocket().pipe(
      Layer.provide([NodeSocket.layerWebSocket(webSocket!), RpcSerialization.layerNdjson])
    )
  )
  const sides = {
    direct: node.call(counter, new Increment({ by: 1 })),
    http: overHttp.Increment({ by: 1 }),
    ws: overWs.Increment({ by: 1 })
  }
  // warm-up, then the rounds
  for (const call of Object.values(sides)) yield* Effect.repeatN(call, WARMUP - 1)
  const results: Record<string, Array<number>> = { direct: [], http: [], ws: [] }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, call] of Object.entries(sides)) results[name]!.push(yield* measure(call))
  }
  const expected = 3 * WARMUP + 3 * ROUNDS * CALLS
  const count = yield* node.call(counter, new Increment({ by: 0 }))
  if (count !== expected) {
    return yield* Effect.die(new Error(`verification failed: counter at ${count}, expected ${expected}`))
  }
  return { direct: median(results.direct!), http: median(results.http!), ws: median(results.ws!) }
})

Effect.runPromise(Effect.scoped(program).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).then(
  (result) => {
    process.stdout.write(JSON.stringify(result) + "\n")
    process.exit(0)
  },
  (error) => {
    process.stderr.write(`${error}\n`)
    process.exit(1)
  }
)
