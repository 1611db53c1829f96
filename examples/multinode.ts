/**
 * Two nodes sharing a cookie: a connect, a send and a call to a remote process by name,
 * and a spawn on the remote node. Both nodes live in this one OS
 * process for the sake of a one-command demo; they still talk over TCP on 127.0.0.1.
 *
 *   npx tsx examples/multinode.ts
 *   npx tsx examples/multinode.ts --serve   # node2 keeps running: look at it with `npx rain ps`
 */
import { Effect, Schema } from "effect"
import type { Process as P } from "rain"
import { Node, Process } from "rain"

/** A message that crosses nodes: a Schema class, listed in `network.messages` on both nodes. */
class Hello extends Schema.TaggedClass<Hello>()("Hello", { text: Schema.String, from: Schema.String }) {}
class Greetings extends Schema.TaggedRequest<Greetings>()("Greetings", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: {}
}) {}

/** Prints what it gets and counts it. */
const RemoteActor = Process.make({
  name: "RemoteActor",
  init: () => Effect.succeed(0),
  handleMessage: (msg: Hello, count, ctx) =>
    Effect.as(Effect.log(`${ctx.self} on ${ctx.self.node} got "${msg.text}" from ${msg.from}`), count + 1),
  handleCall: (_req: Greetings, _from, count) => Effect.succeed(Process.reply(count, count))
})

/** A worker other nodes may spawn here (listed in `allowSpawn`). */
const WorkerActor = Process.make({
  name: "remote_worker",
  init: (args: string, ctx: P.Context<Hello>) =>
    Effect.as(Effect.log(`remote_worker ${ctx.self} started on ${ctx.self.node} with args "${args}"`), args),
  handleMessage: (msg: Hello, args) => Effect.as(Effect.log(`remote_worker (${args}) got "${msg.text}"`), args)
})

// node2 is the program's node (listening on a free port); node1 starts inside the
// program, with a route to node2, and goes away with the program's scope.
Node.runMain("node2@127.0.0.1", {
  network: { cookie: "secret-cookie", port: 0, messages: [Hello, Greetings], allowSpawn: [WorkerActor] }
}, (node2) =>
  Effect.gen(function*() {
    const node1 = yield* Node.start("node1@127.0.0.1", {
      network: {
        cookie: "secret-cookie",
        messages: [Hello, Greetings],
        routes: { "node2@127.0.0.1": { host: "127.0.0.1", port: node2.port } }
      }
    })
    yield* node2.spawn(RemoteActor, undefined, { name: "remote_actor" })

    // node1.Connect("node2@...")
    yield* node1.connect("node2@127.0.0.1")
    yield* Effect.log(`node1 is connected to ${(yield* node1.nodes).join(", ")}`)

    // Send to a remote process by { name, node }
    const remote = Process.name("remote_actor", "node2@127.0.0.1")
    yield* node1.send(remote, new Hello({ text: "Hello from remote!", from: node1.name }))
    const seen = yield* node1.call(remote, new Greetings())
    yield* Effect.log(`remote_actor has seen ${seen} message(s)`)

    // Spawn a process on the remote node
    const pid = yield* node1.spawnRemote("node2@127.0.0.1", "remote_worker", "worker_args")
    yield* node1.send(pid, new Hello({ text: "work!", from: node1.name }))
    yield* Effect.sleep("100 millis")
    if (process.argv.includes("--serve")) {
      // Every node with network serves the control plane on its own port (rain/Rpc Control).
      const args = `ps --node ${node2.name}:${node2.port} --cookie secret-cookie`
      console.log(`look inside node2: npx rain ${args}  (in Rain's repository: npm run rain -- ${args}); Ctrl-C stops it`)
      return
    }
    yield* node2.stop
  }))
