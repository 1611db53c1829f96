/**
 * A counter process served to plain `@effect/rpc` clients by the gateway: an rpc client
 * over HTTP and one over WebSocket call it, one of them with a token that is refused,
 * then the program stops the node (exit code 0).
 *
 *   npx tsx examples/gateway.ts
 */
import { FetchHttpClient } from "@effect/platform"
import { NodeSocket } from "@effect/platform-node"
import { RpcClient, RpcSerialization } from "@effect/rpc"
import { Console, Effect, Layer, Schema } from "effect"
import { Node, Process } from "rain"
import { Gateway } from "rain/Rpc"

export class TooMuch extends Schema.TaggedError<TooMuch>()("TooMuch", { limit: Schema.Number }) {}

export class Increment extends Schema.TaggedRequest<Increment>()("Increment", {
  failure: TooMuch,
  success: Schema.Number,
  payload: { by: Schema.Number }
}) {}

export class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: {}
}) {}

export const Counter = Process.make({
  name: "Counter",
  init: () => Effect.succeed(0),
  handleCall: (request: Increment | GetCount, _from, count) => {
    switch (request._tag) {
      case "Increment":
        return Effect.succeed(
          count + request.by > 100
            ? Process.replyError(new TooMuch({ limit: 100 }), count)
            : Process.reply(count + request.by, count + request.by)
        )
      case "GetCount":
        return Effect.succeed(Process.reply(count, count))
    }
  }
})

/** What the clients use: the same request classes, with the gateway's token check. */
const CounterRpcs = Gateway.group([Increment, GetCount]).middleware(Gateway.Authentication)

Node.runMain("gateway@localhost", {}, (node) =>
  Effect.gen(function*() {
    yield* node.spawn(Counter, undefined, { name: "counter" })
    const gateway = yield* node.spawn(Gateway.Server, {
      port: 0,
      expose: { counter: [Increment, GetCount] },
      auth: { token: "s3cret" },
      callTimeout: "2 seconds"
    })
    const { http, webSocket } = yield* node.call(gateway, new Gateway.GetEndpoints())
    yield* Console.log(`gateway on ${http} and ${webSocket}`)

    // a client's protocol is a layer: build it in this scope so that its connection stays open
    const overHttp = yield* Layer.build(
      RpcClient.layerProtocolHttp({ url: http! }).pipe(
        Layer.provide([FetchHttpClient.layer, RpcSerialization.layerNdjson])
      )
    ).pipe(Effect.flatMap((protocol) => Effect.provide(RpcClient.make(CounterRpcs), protocol)))
    const overWebSocket = yield* Layer.build(
      RpcClient.layerProtocolSocket().pipe(
        Layer.provide([NodeSocket.layerWebSocket(webSocket!), RpcSerialization.layerNdjson])
      )
    ).pipe(Effect.flatMap((protocol) => Effect.provide(RpcClient.make(CounterRpcs), protocol)))

    yield* Effect.gen(function*() {
      yield* Console.log("http      Increment(5) =", yield* overHttp.Increment({ by: 5 }))
      yield* Console.log("websocket Increment(2) =", yield* overWebSocket.Increment({ by: 2 }))
      yield* Console.log("http      GetCount     =", yield* overHttp.GetCount({}))
      const refused = yield* overHttp.Increment({ by: 500 }).pipe(
        Effect.catchTag("TooMuch", (e) => Effect.succeed(`refused by the process: over ${e.limit}`))
      )
      yield* Console.log("http      Increment(500):", refused)
    }).pipe(Gateway.withToken("s3cret"))

    const denied = yield* overWebSocket.GetCount({}).pipe(
      Gateway.withToken("guess"),
      Effect.catchTag("Unauthorized", (e) => Effect.succeed(`denied (${e.reason} token)`))
    )
    yield* Console.log("websocket with a wrong token:", denied)
    yield* node.stop
  }))
