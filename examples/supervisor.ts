/**
 * A supervisor of two workers under one_for_one, permanent. A worker crashes and
 * is restarted; its sibling keeps its pid.
 *
 *   npx tsx examples/supervisor.ts
 */
import { Console, Effect } from "effect"
import { Node, Supervisor } from "rain"
import { Crash, Hello, MySupervisor } from "./supervisor-spec.js"

Node.runMain("supervisor@localhost", {}, (node) =>
  Effect.gen(function*() {
    const sup = yield* Supervisor.start(node, MySupervisor, { name: "main_supervisor" })
    const before = yield* Supervisor.whichChildren(node, sup)
    yield* Console.log("children:", before.map((c) => `${c.id}=${String(c.pid)}`).join(", "))
    yield* node.send(before[0]!.pid!, new Crash())
    yield* Effect.sleep("50 millis")
    const after = yield* Supervisor.whichChildren(node, sup)
    yield* Console.log("after crash:", after.map((c) => `${c.id}=${String(c.pid)}`).join(", "))
    yield* Console.log(yield* node.call(after[0]!.pid!, new Hello()))
    yield* Console.log("counts:", JSON.stringify(yield* Supervisor.countChildren(node, sup)))
    yield* node.stop
  }))
