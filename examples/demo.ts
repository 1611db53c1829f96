/**
 * The demo of Rain's original description: a node that starts an application whose one
 * actor ticks every second.
 *
 *   npm run demo            # five ticks, then the node stops
 *   npm run demo -- 0       # tick until Ctrl-C
 */
import { Console, Effect } from "effect"
import { Application, Node, Process } from "rain"

const maxTicks = Number(process.argv[2] ?? 5)

const DemoActor = Process.make({
  name: "DemoActor",
  init: (_: void, ctx) =>
    Effect.gen(function*() {
      yield* Console.log("🚀 Demo actor started")
      // Send a message to self every second
      yield* ctx.sendAfter(ctx.self, "tick", "1 second")
      return { counter: 0 }
    }),
  handleMessage: (message: string, state, ctx) =>
    Effect.gen(function*() {
      if (message !== "tick") {
        yield* Console.log(`📨 Message received: ${message}`)
        return state
      }
      const counter = state.counter + 1
      yield* Console.log(`⏰ Tick #${counter} received by ${ctx.self}`)
      if (maxTicks > 0 && counter >= maxTicks) yield* ctx.stop()
      else yield* ctx.sendAfter(ctx.self, "tick", "1 second")
      return { counter }
    }),
  terminate: (reason) => Console.log(`👋 Demo actor terminated: ${reason._tag}`)
})

// Application definition
const DemoApp = Application.make({
  name: "DemoApp",
  description: "Demo Rain Framework application",
  version: "1.0.0",
  root: [{ id: "demo_actor", behaviour: DemoActor, args: undefined, name: "demo_actor", restart: "transient" }]
})

// Start node with applications, then wait for it to stop
Node.runMain("demo@localhost", { applications: [DemoApp] }, (node) =>
  Effect.gen(function*() {
    yield* node.send("demo_actor", "hello from main")
    // Stop the node once the actor is done (Ctrl-C also stops it cleanly).
    const actor = yield* node.whereis("demo_actor")
    if (actor._tag === "Some") yield* node.awaitExit(actor.value).pipe(Effect.zipRight(node.stop), Effect.forkDaemon)
  }))
