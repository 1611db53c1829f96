/**
 * A cluster of two nodes, each in a worker thread of this one OS process, fully
 * connected. The main thread supervises them and joins the mesh as a node of its own to
 * talk to them: calls by `{ name, node }`, a remote spawn, and a call from one thread to
 * the other. Functions cannot cross threads, so what each node runs is this module's
 * default export; the threads import this file too, and only the main thread runs `main`.
 *
 *   npx tsx examples/cluster.ts
 */
import { Console, Effect, Schema } from "effect"
import { isMainThread, threadId } from "node:worker_threads"
import { Application, Cluster, Node, Process } from "rain"

class Whoami extends Schema.TaggedRequest<Whoami>()("example/Whoami", {
  failure: Schema.Never,
  success: Schema.String,
  payload: {}
}) {}

/** Asks the `info` server of another node who it is, and says who asked. */
class Ask extends Schema.TaggedRequest<Ask>()("example/Ask", {
  failure: Schema.String,
  success: Schema.String,
  payload: { node: Schema.String }
}) {}

/** Answers with its node and thread: every node runs one, registered as `info`. */
const Info = Process.make({
  name: "Info",
  init: () => Effect.succeed(undefined),
  handleCall: (request: Whoami | Ask, _from, state, ctx) =>
    request instanceof Whoami
      ? Effect.succeed(Process.reply(`${ctx.self.node} (thread ${threadId})`, state))
      : ctx.call(Process.name("info", request.node), new Whoami()).pipe(
        Effect.map((answer) => Process.reply(`${ctx.self.node} asked ${answer}`, state)),
        Effect.mapError((e) => e._tag)
      )
})

/** A behaviour the other nodes may spawn here. */
const Squarer = Process.make({
  name: "Squarer",
  init: (n: number) => Effect.succeed(n),
  handleCall: (_: Whoami, _from, n, ctx) => Effect.succeed(Process.reply(`${n * n} from ${ctx.self.node}`, n))
})

export default Cluster.define({
  applications: [
    Application.make({ name: "info", version: "1.0.0", root: [{ id: "info", behaviour: Info, args: undefined, name: "info" }] })
  ],
  allowSpawn: [Squarer],
  messages: [Whoami, Ask]
})

const main = Effect.gen(function*() {
  const cluster = yield* Cluster.start({ module: new URL(import.meta.url), size: 2 })
  yield* Console.log(`cluster up: ${cluster.nodes.join(", ")}`)
  const node = yield* Node.start("main@cluster", { network: cluster.network("main@cluster") })
  for (const member of cluster.nodes) {
    yield* Console.log("main asks:", yield* node.call(Process.name("info", member), new Whoami()))
  }
  const [first, second] = cluster.nodes as [string, string]
  yield* Console.log("thread to thread:", yield* node.call(Process.name("info", first), new Ask({ node: second })))
  const squarer = yield* node.spawnRemote(second, "Squarer", 7)
  yield* Console.log("remote spawn:", yield* node.call(squarer, new Whoami()))
})

if (isMainThread) Effect.runPromise(Effect.scoped(main)).catch((e) => {
  console.error(e)
  process.exit(1)
})
