// Code of docs/guides/distributed-systems.md (type-checked by `npm run typecheck`).
import { FetchHttpClient } from "@effect/platform"
import { RpcClient, RpcSerialization } from "@effect/rpc"
import { Effect, Layer, Schema } from "effect"
import { Application, Cluster, Event, Group, Message, Node, Pool, Process, Registrar } from "rain"
import { Gateway } from "rain/Rpc"

class Hello extends Schema.TaggedClass<Hello>()("Hello", { text: Schema.String }) {}
class Echo extends Schema.TaggedRequest<Echo>()("Echo", {
  failure: Schema.Never,
  success: Schema.String,
  payload: { text: Schema.String }
}) {}

export const Greeter = Process.make({
  name: "Greeter",
  init: () => Effect.void,
  handleMessage: (msg: Hello) => Effect.log(`hello: ${msg.text}`),
  handleCall: (req: Echo, _from, state) => Effect.succeed(Process.reply(req.text, state))
})

export const twoNodes = Effect.scoped(Effect.gen(function*() {
  const b = yield* Node.start("b@127.0.0.1", {
    network: { cookie: "secret", port: 0, messages: [Hello, Echo], allowSpawn: [Greeter] }
  })
  yield* b.spawn(Greeter, undefined, { name: "greeter" })
  const a = yield* Node.start("a@127.0.0.1", {
    network: { cookie: "secret", port: 0, messages: [Hello, Echo], routes: { "b@127.0.0.1": b.address! } }
  })
  yield* a.connect("b@127.0.0.1")
  const greeter = Process.name("greeter", "b@127.0.0.1")
  yield* a.send(greeter, new Hello({ text: "hi" }))
  const echoed = yield* a.call(greeter, new Echo({ text: "ping" }), "1 second")
  const remote = yield* a.spawnRemote("b@127.0.0.1", "Greeter", undefined)
  return [echoed, remote] as const
}))

// discovery without routes: the first node on a host serves the registry (like EPMD)
export const withRegistrar = Node.start("c@127.0.0.1", {
  network: { cookie: "secret", registrar: Registrar.embeddedRegistrar() }
})

// or register message classes once, before the node starts
export const registered = Message.register(Hello, Echo)

// --- Events and groups across nodes
export const Ticker = Process.make({
  name: "Ticker",
  init: (_: void, ctx) => Event.register(ctx, "ticks", { buffer: 1, notify: true }),
  handleMessage: (msg: number | Event.EventStart | Event.EventStop, token, ctx) =>
    typeof msg === "number" ? Effect.as(Event.publish(ctx, token, msg), token) : Effect.succeed(token)
})

export const Listener = Process.make({
  name: "Listener",
  init: (_: void, ctx) =>
    Effect.gen(function*() {
      yield* Event.monitor(ctx, Event.name("ticks", "b@127.0.0.1")) // EventDown noconnection if b goes
      yield* Group.join(ctx, "listeners", ctx.self)
    }),
  handleMessage: (_msg: Event.EventMessage | Event.EventDown) => Effect.void
})

export const everywhere = (a: Node.NodeService, b: Node.NodeService) =>
  Effect.gen(function*() {
    yield* Group.start(a) // a group scope on every node that uses groups
    yield* Group.start(b)
    yield* b.spawn(Ticker, undefined)
    yield* a.spawn(Listener, undefined)
    yield* b.spawn(Listener, undefined)
    const local = yield* Group.localMembers(a, "listeners") // a's one
    const all = yield* Group.members(a, "listeners") // a's first, then b's once a has heard of them
    return [local.length, all.length] as const
  })

// --- A gateway for @effect/rpc clients
class Increment extends Schema.TaggedRequest<Increment>()("Increment", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: { by: Schema.Number }
}) {}

const Counter = Process.make({
  name: "Counter",
  init: () => Effect.succeed(0),
  handleCall: (req: Increment, _from, n) => Effect.succeed(Process.reply(n + req.by, n + req.by))
})

export const serve = (node: Node.NodeService) =>
  Effect.gen(function*() {
    yield* node.spawn(Counter, undefined, { name: "counter" })
    const gateway = yield* node.spawn(Gateway.Server, {
      port: 8080,
      expose: { counter: [Increment] },
      auth: { token: "s3cret" },
      callTimeout: "2 seconds"
    })
    return yield* node.call(gateway, new Gateway.GetEndpoints()) // { http, webSocket, ... }
  })

// a client anywhere: the same request classes, no Rain node
export const increment = Effect.gen(function*() {
  const client = yield* RpcClient.make(Gateway.group([Increment]).middleware(Gateway.Authentication))
  return yield* client.Increment({ by: 1 }).pipe(Gateway.withToken("s3cret"))
}).pipe(
  Effect.scoped,
  Effect.provide(
    RpcClient.layerProtocolHttp({ url: "http://127.0.0.1:8080/rpc" }).pipe(
      Layer.provide([FetchHttpClient.layer, RpcSerialization.layerNdjson])
    )
  )
)

// --- A cluster of worker threads
class Job extends Schema.TaggedRequest<Job>()("Job", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: { n: Schema.Number }
}) {}

const Squarer = Process.make({
  name: "Squarer",
  init: () => Effect.void,
  handleCall: (job: Job) => Effect.succeed(Process.reply(job.n * job.n, undefined))
})

// every thread imports this module and runs its default export
export default Cluster.define({
  applications: [
    Application.make({ name: "jobs", version: "1.0.0", root: [{ id: "sq", behaviour: Squarer, args: undefined, name: "sq" }] })
  ],
  allowSpawn: [Squarer],
  messages: [Job]
})

export const threads = Effect.scoped(Effect.gen(function*() {
  const cluster = yield* Cluster.start({ module: new URL(import.meta.url) }) // one node per core
  const main = yield* Node.start("main@cluster", { network: cluster.network("main@cluster") })
  const nine = yield* main.call(Process.name("sq", cluster.nodes[0]!), new Job({ n: 3 }))
  const pool = yield* main.spawn(
    Pool.make({ worker: Squarer, args: undefined, size: cluster.nodes.length * 2, nodes: cluster.nodes }),
    undefined
  )
  const sixteen = yield* Pool.call(main, pool, new Job({ n: 4 })) // answered in a worker thread
  return [nine, sixteen] as const
}))
