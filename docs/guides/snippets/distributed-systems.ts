// Code of docs/guides/distributed-systems.md (type-checked by `npm run typecheck`).
import { Effect, Schema } from "effect"
import { Message, Node, Process, Registrar } from "rain"

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
