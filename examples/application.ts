/**
 * An application: "MyApp" with a main supervisor of two workers, started by
 * `Node.start({ applications })`; its env is readable by its processes.
 *
 *   npx tsx examples/application.ts
 */
import { Console, Effect, Option } from "effect"
import { Application, Node, Supervisor } from "rain"
import { Hello, MySupervisor } from "./supervisor-spec.js"

export const MyApp = Application.make({
  name: "MyApp",
  description: "My awesome application",
  version: "1.0.0",
  env: { greeting: "hello" },
  root: [{ id: "main_supervisor", behaviour: Supervisor.behaviour(MySupervisor), args: undefined, type: "supervisor" }]
})

Node.runMain("app@localhost", { applications: [MyApp] }, (node) =>
  Effect.gen(function*() {
    const [info] = yield* Application.which(node)
    yield* Console.log(`${info!.name} ${info!.version}: ${info!.state}`)
    yield* Console.log("greeting =", Option.getOrElse(yield* Application.getEnv(node, "MyApp", "greeting"), () => "(none)"))
    const root = info!.root!
    const [main] = yield* Supervisor.whichChildren(node, root)
    const workers = yield* Supervisor.whichChildren(node, main!.pid!)
    for (const w of workers) yield* Console.log(w.id, "says", yield* node.call(w.pid!, new Hello()))
    yield* Application.stop(node, "MyApp")
    yield* Console.log("state after stop:", (yield* Application.which(node))[0]!.state)
    yield* node.stop
  }))
