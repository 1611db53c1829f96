import { FetchHttpClient } from "@effect/platform"
import { NodeSocket } from "@effect/platform-node"
import { RpcClient, RpcSerialization } from "@effect/rpc"
import type { Rpc, RpcGroup } from "@effect/rpc"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Layer, Option, Redacted, Schema } from "effect"
import type { Process as P } from "../../src/index.js"
import { Node, Process } from "../../src/index.js"
import * as Meta from "../../src/Meta/index.js"
import { Gateway } from "../../src/Rpc/index.js"

class CounterOverflow extends Schema.TaggedError<CounterOverflow>()("CounterOverflow", {
  count: Schema.Number,
  limit: Schema.Number
}) {}

class Increment extends Schema.TaggedRequest<Increment>()("Increment", {
  failure: CounterOverflow,
  success: Schema.Number,
  payload: { by: Schema.Number }
}) {}

class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: {}
}) {}

/** Never answered: the counter keeps the caller waiting (for timeouts and kills mid-call). */
class Hang extends Schema.TaggedRequest<Hang>()("Hang", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: {}
}) {}

/** The counter crashes on it (its handler fails): let it crash. */
class Crash extends Schema.TaggedRequest<Crash>()("Crash", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: {}
}) {}

/** The counter answers it with a value that is not its success type (a cast a user might write). */
class Lie extends Schema.TaggedRequest<Lie>()("Lie", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: {}
}) {}

class Ping extends Schema.TaggedRequest<Ping>()("Ping", {
  failure: Schema.Never,
  success: Schema.String,
  payload: {}
}) {}

const LIMIT = 10

interface CounterState {
  count: number
  waiting: number
}

const Counter = Process.make({
  name: "Counter",
  init: () => Effect.succeed<CounterState>({ count: 0, waiting: 0 }),
  handleCall: (request: Increment | GetCount | Hang | Crash | Lie, _from, state) => {
    switch (request._tag) {
      case "Increment": {
        const next = state.count + request.by
        if (next > LIMIT) {
          return Effect.succeed(Process.replyError(new CounterOverflow({ count: state.count, limit: LIMIT }), state))
        }
        state.count = next
        return Effect.succeed(Process.reply(next, state))
      }
      case "GetCount":
        return Effect.succeed(Process.reply(state.count, state))
      case "Hang":
        state.waiting++
        return Effect.succeed(Process.noReply(state))
      case "Crash":
        return Effect.fail(new Error("boom"))
      case "Lie":
        return Effect.succeed(Process.reply("many" as unknown as number, state))
    }
  },
  describe: (state) => state
})

const CounterRpcs = Gateway.group([Increment, GetCount, Hang])

/**
 * An `RpcClient` whose protocol lives in the test's scope (`Effect.provide(layer)` would close
 * the protocol, and its socket, as soon as `make` returns).
 */
const clientWith = <Rpcs extends Rpc.Any>(group: RpcGroup.RpcGroup<Rpcs>, protocol: Layer.Layer<RpcClient.Protocol>) =>
  Effect.flatMap(Layer.build(protocol), (context) => RpcClient.make(group).pipe(Effect.provide(context)))

const httpClient = <Rpcs extends Rpc.Any>(group: RpcGroup.RpcGroup<Rpcs>, url: string) =>
  clientWith(
    group,
    RpcClient.layerProtocolHttp({ url }).pipe(Layer.provide([FetchHttpClient.layer, RpcSerialization.layerNdjson]))
  )

const webSocketClient = <Rpcs extends Rpc.Any>(group: RpcGroup.RpcGroup<Rpcs>, url: string) =>
  clientWith(
    group,
    RpcClient.layerProtocolSocket().pipe(Layer.provide([NodeSocket.layerWebSocket(url), RpcSerialization.layerNdjson]))
  )

const socketClient = <Rpcs extends Rpc.Any>(group: RpcGroup.RpcGroup<Rpcs>, port: number) =>
  clientWith(
    group,
    RpcClient.layerProtocolSocket().pipe(
      Layer.provide([NodeSocket.layerNet({ host: "127.0.0.1", port }), RpcSerialization.layerNdjson]),
      Layer.orDie
    )
  )

const startGateway = (node: Node.NodeService, spec: Partial<Gateway.GatewaySpec> = {}) =>
  Effect.gen(function*() {
    const counter = yield* node.spawn(Counter, undefined, { name: "counter" })
    const gateway = yield* node.spawn(Gateway.Server, {
      port: 0,
      expose: { counter: [Increment, GetCount, Hang] },
      ...spec
    })
    const endpoints = yield* node.call(gateway, new Gateway.GetEndpoints())
    return { counter, gateway, endpoints }
  })

const detail = (node: Node.NodeService, pid: P.Pid) =>
  Effect.map(node.info(pid), (info) => Option.getOrThrow(info).detail)

/** Polls until `check` holds (every 10 ms, at most `ms`: generous, for a loaded machine). */
const eventually = (check: Effect.Effect<boolean>, what: string, ms = 20_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.fail(new Error(`timed out waiting for: ${what}`))
      yield* Effect.sleep("10 millis")
    }
  })

/** The typed failure of an rpc (its error channel), failing the test if it succeeded or died. */
const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.exit(effect), (exit) => {
    if (Exit.isSuccess(exit)) return Effect.dieMessage(`expected a failure, got ${JSON.stringify(exit.value)}`)
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure)) return Effect.dieMessage(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
    return Effect.succeed(failure.value)
  })

describe("Gateway", () => {
  it.scopedLive("a counter process answers an RpcClient over HTTP, its own failure arriving typed", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("gateway@localhost")
      const { endpoints, gateway } = yield* startGateway(node)
      assert.match(endpoints.http!, /^http:\/\/127\.0\.0\.1:\d+\/rpc$/)
      const client = yield* httpClient(CounterRpcs, endpoints.http!)
      assert.strictEqual(yield* client.Increment({ by: 3 }), 3)
      assert.strictEqual(yield* client.Increment({ by: 4 }), 7)
      assert.strictEqual(yield* client.GetCount({}), 7)
      const overflow = yield* failureOf(client.Increment({ by: 5 }))
      assert.instanceOf(overflow, CounterOverflow)
      assert.deepStrictEqual({ tag: overflow._tag, count: (overflow as CounterOverflow).count }, {
        tag: "CounterOverflow",
        count: 7
      })
      // the client can match it by tag, with the call errors in the same union
      const handled = yield* client.Increment({ by: 5 }).pipe(
        Effect.catchTags({ CounterOverflow: (e) => Effect.succeed(-e.limit), Timeout: () => Effect.succeed(0) })
      )
      assert.strictEqual(handled, -LIMIT)
      // other paths and methods get a 404 that says where rpc is served
      const stray = yield* Effect.promise(() =>
        fetch(endpoints.http!.replace(/\/rpc$/, "/other"), { signal: AbortSignal.timeout(5000) })
          .then(async (response) => ({ status: response.status, body: await response.text() }))
      )
      assert.strictEqual(stray.status, 404)
      assert.include(stray.body, "POST /rpc (HTTP) and GET /rpc (WebSocket)")
      const info = (yield* detail(node, gateway)) as Gateway.GatewayInfo
      assert.strictEqual(info.calls, 5)
      assert.strictEqual(info.failures, 2)
      assert.deepStrictEqual(info.exposed, { counter: ["Increment", "GetCount", "Hang"] })
    }))

  it.scopedLive("the same over WebSocket, with concurrent calls on one connection", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("gateway@localhost")
      const { endpoints } = yield* startGateway(node)
      assert.match(endpoints.webSocket!, /^ws:\/\/127\.0\.0\.1:\d+\/rpc$/)
      const client = yield* webSocketClient(CounterRpcs, endpoints.webSocket!)
      const results = yield* Effect.forEach([1, 1, 1, 1, 1], (by) => client.Increment({ by }), { concurrency: 5 })
      assert.deepStrictEqual([...results].sort(), [1, 2, 3, 4, 5])
      assert.strictEqual(yield* client.GetCount({}), 5)
      const overflow = yield* failureOf(client.Increment({ by: 6 }))
      assert.instanceOf(overflow, CounterOverflow)
    }))

  it.scopedLive("over a raw socket (socketPort), in ndjson and in msgpack", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("gateway@localhost")
      const { endpoints } = yield* startGateway(node, { port: undefined, socketPort: 0 })
      assert.strictEqual(endpoints.http, undefined)
      assert.isAbove(endpoints.socket!.port, 0)
      const client = yield* socketClient(CounterRpcs, endpoints.socket!.port)
      assert.strictEqual(yield* client.Increment({ by: 2 }), 2)
      assert.strictEqual(yield* client.GetCount({}), 2)
      const binary = yield* node.spawn(Gateway.Server, {
        socketPort: 0,
        serialization: "msgpack",
        expose: { counter: [Increment, GetCount] }
      })
      const { socket } = yield* node.call(binary, new Gateway.GetEndpoints())
      const msgpack = yield* clientWith(
        Gateway.group([Increment, GetCount]),
        RpcClient.layerProtocolSocket().pipe(
          Layer.provide([
            NodeSocket.layerNet({ host: "127.0.0.1", port: socket!.port }),
            RpcSerialization.layerMsgPack
          ]),
          Layer.orDie
        )
      )
      assert.strictEqual(yield* msgpack.Increment({ by: 3 }), 5)
      const overflow = yield* failureOf(msgpack.Increment({ by: 100 }))
      assert.instanceOf(overflow, CounterOverflow)
    }))

  it.scopedLive("a call past callTimeout fails with a typed Timeout, over HTTP and WebSocket", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("gateway@localhost")
      const { endpoints } = yield* startGateway(node, { callTimeout: "200 millis" })
      const http = yield* httpClient(CounterRpcs, endpoints.http!)
      const overHttp = yield* failureOf(http.Hang({}))
      assert.strictEqual(overHttp._tag, "Timeout")
      assert.strictEqual((overHttp as P.Timeout).millis, 200)
      const ws = yield* webSocketClient(CounterRpcs, endpoints.webSocket!)
      const overWs = yield* failureOf(ws.Hang({}))
      assert.strictEqual(overWs._tag, "Timeout")
      // the gateway and the process still serve
      assert.strictEqual(yield* ws.GetCount({}), 0)
    }))

  it.scopedLive("a process killed mid-call gets the client ProcessExited; then, not registered, ProcessUnknown", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("gateway@localhost")
      const { counter, endpoints, gateway } = yield* startGateway(node, { callTimeout: "30 seconds" })
      const client = yield* webSocketClient(CounterRpcs, endpoints.webSocket!)
      const pending = yield* Effect.fork(failureOf(client.Hang({})))
      yield* eventually(
        Effect.map(detail(node, counter), (state) => (state as CounterState).waiting === 1),
        "the Hang call to reach the counter"
      )
      yield* node.exit(counter, Process.ExitReason.kill)
      const exited = yield* Fiber.join(pending).pipe(
        Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("client hung") })
      )
      assert.strictEqual(exited._tag, "ProcessExited")
      assert.strictEqual((exited as P.ProcessExited).reason._tag, "killed")
      const unknown = yield* failureOf(client.GetCount({}))
      assert.strictEqual(unknown._tag, "ProcessUnknown")
      assert.include((unknown as P.ProcessUnknown).message, "counter")
      // the gateway itself lives on
      assert.isTrue(Option.isSome(yield* node.info(gateway)))
    }))

  it.scopedLive("a crash on the request is ProcessExited (error); a reply of the wrong type is a defect", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("gateway@localhost")
      yield* node.spawn(Counter, undefined, { name: "counter" })
      const gateway = yield* node.spawn(Gateway.Server, { port: 0, expose: { counter: [GetCount, Crash, Lie] } })
      const { http } = yield* node.call(gateway, new Gateway.GetEndpoints())
      const client = yield* httpClient(Gateway.group([GetCount, Crash, Lie]), http!)
      const lie = yield* Effect.exit(client.Lie({}))
      assert.isTrue(
        Exit.isFailure(lie) && Option.isNone(Cause.failureOption(lie.cause)),
        "a defect, not a typed failure"
      )
      const crashed = yield* failureOf(client.Crash({}))
      assert.strictEqual(crashed._tag, "ProcessExited")
      assert.strictEqual((crashed as P.ProcessExited).reason._tag, "error")
      assert.strictEqual((yield* failureOf(client.GetCount({})))._tag, "ProcessUnknown")
    }))

  it.scopedLive("a name that was never registered fails with ProcessUnknown, not a hung client", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("gateway@localhost")
      const { endpoints } = yield* startGateway(node, {
        expose: { counter: [Increment, GetCount, Hang], nobody: [Ping] }
      })
      const client = yield* httpClient(Gateway.group([Ping]), endpoints.http!)
      const unknown = yield* failureOf(client.Ping({}))
      assert.strictEqual(unknown._tag, "ProcessUnknown")
      assert.strictEqual((unknown as P.ProcessUnknown).target, "nobody")
    }))

  it.scopedLive("auth: a missing or wrong token is Unauthorized (typed), the right one passes (HTTP, WebSocket)", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("gateway@localhost")
      const { endpoints, gateway } = yield* startGateway(node, { auth: { token: Redacted.make("s3cret") } })
      const Authed = CounterRpcs.middleware(Gateway.Authentication)
      const clients = [yield* httpClient(Authed, endpoints.http!), yield* webSocketClient(Authed, endpoints.webSocket!)]
      for (const client of clients) {
        const missing = yield* failureOf(client.GetCount({}))
        assert.instanceOf(missing, Gateway.Unauthorized)
        assert.strictEqual((missing as Gateway.Unauthorized).reason, "missing")
        const wrong = yield* failureOf(client.Increment({ by: 1 }).pipe(Gateway.withToken("guess")))
        assert.instanceOf(wrong, Gateway.Unauthorized)
        assert.strictEqual((wrong as Gateway.Unauthorized).reason, "wrong")
        const handled = yield* client.GetCount({}).pipe(
          Gateway.withToken("nope"),
          Effect.catchTag("Unauthorized", (e) => Effect.succeed(e.reason))
        )
        assert.strictEqual(handled, "wrong")
        const before = yield* client.GetCount({}).pipe(Gateway.withToken("s3cret"))
        assert.strictEqual(yield* client.Increment({ by: 1 }).pipe(Gateway.withToken("s3cret")), before + 1)
      }
      // the wrong and missing tokens never reached the counter: two increments got through
      assert.strictEqual(yield* node.call("counter", new GetCount()), 2)
      const info = (yield* detail(node, gateway)) as Gateway.GatewayInfo
      assert.strictEqual(info.unauthorized, 6)
    }))

  it.scopedLive("a bad spec (InvalidSpec) or a taken port (ListenFailed) fails spawn; stopping releases the port", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("gateway@localhost")
      const spawnError = (spec: unknown): Effect.Effect<unknown, unknown> =>
        Effect.flip(node.spawn(Gateway.Server, spec as Gateway.GatewaySpec)).pipe(
          Effect.map((error) =>
            error._tag === "InitFailed" && error.reason._tag === "error" ? Cause.squash(error.reason.cause) : error
          )
        )
      const duplicate = yield* spawnError({ port: 0, expose: { a: [GetCount], b: [GetCount] } })
      assert.instanceOf(duplicate, Meta.InvalidSpec)
      assert.include((duplicate as Meta.InvalidSpec).message, `repeats the request tag "GetCount"`)
      const nowhere = yield* spawnError({ expose: { a: [GetCount] } })
      assert.include((nowhere as Meta.InvalidSpec).message, "port")
      const notRequest = yield* spawnError({ port: 0, expose: { a: [CounterOverflow] } })
      assert.include((notRequest as Meta.InvalidSpec).message, "not a Schema.TaggedRequest class")
      const json = yield* spawnError({ socketPort: 0, serialization: "json", expose: { a: [GetCount] } })
      assert.include((json as Meta.InvalidSpec).message, "framing")
      const emptyToken = yield* spawnError({ port: 0, auth: { token: "" }, expose: { a: [GetCount] } })
      assert.strictEqual((emptyToken as Meta.InvalidSpec).field, "auth.token")

      const { endpoints, gateway } = yield* startGateway(node)
      const port = Number(new URL(endpoints.http!).port)
      // a port in use: ListenFailed names the address
      const taken = yield* spawnError({ port, expose: { a: [GetCount] } })
      assert.instanceOf(taken, Meta.ListenFailed)
      assert.strictEqual((taken as Meta.ListenFailed).address, `127.0.0.1:${port}`)
      const socketTaken = yield* spawnError({ port: 0, socketPort: port, expose: { a: [GetCount] } })
      assert.instanceOf(socketTaken, Meta.ListenFailed)
      yield* node.exit(gateway, Process.ExitReason.shutdown)
      yield* node.awaitExit(gateway)
      // the port is free again: another gateway binds it
      const again = yield* node.spawn(Gateway.Server, { port, expose: { counter: [GetCount] } })
      assert.strictEqual((yield* node.call(again, new Gateway.GetEndpoints())).http, endpoints.http)
    }))

  it.scopedLive("stopping or killing the gateway with clients connected completes, frees ports, ends calls", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("gateway@localhost")
      const { endpoints, gateway } = yield* startGateway(node, { socketPort: 0, callTimeout: "30 seconds" })
      const ws = yield* webSocketClient(CounterRpcs, endpoints.webSocket!)
      const raw = yield* socketClient(CounterRpcs, endpoints.socket!.port)
      assert.strictEqual(yield* ws.Increment({ by: 1 }), 1)
      assert.strictEqual(yield* raw.Increment({ by: 1 }), 2)
      const hanging = yield* Effect.fork(Effect.exit(ws.Hang({})))
      const counter = Option.getOrThrow(yield* node.whereis("counter"))
      yield* eventually(
        Effect.map(detail(node, counter), (state) => (state as CounterState).waiting === 1),
        "the Hang call to reach the counter"
      )
      yield* node.exit(gateway, Process.ExitReason.shutdown)
      const reason = yield* node.awaitExit(gateway).pipe(
        Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the gateway did not stop") })
      )
      assert.strictEqual(reason._tag, "shutdown")
      // the call in flight ends (the client's socket closed) instead of hanging for 30 s
      const ended = yield* Fiber.join(hanging).pipe(
        Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the client hung") })
      )
      assert.isTrue(Exit.isFailure(ended))
      // both ports are free: a new gateway binds them, and is killed with a client connected
      const port = Number(new URL(endpoints.http!).port)
      const again = yield* node.spawn(Gateway.Server, {
        port,
        socketPort: endpoints.socket!.port,
        expose: { counter: [Increment, GetCount, Hang] }
      })
      const ws2 = yield* webSocketClient(CounterRpcs, endpoints.webSocket!)
      assert.strictEqual(yield* ws2.GetCount({}), 2)
      yield* node.exit(again, Process.ExitReason.kill)
      yield* node.awaitExit(again)
      yield* eventually(
        Effect.map(
          Effect.exit(node.spawn(Gateway.Server, { port, expose: { counter: [GetCount] } })),
          Exit.isSuccess
        ),
        "the port to be released after kill"
      )
    }))
})
