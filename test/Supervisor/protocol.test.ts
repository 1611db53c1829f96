import { assert, describe, it } from "@effect/vitest"
import { Effect, Equal, Hash, Schema } from "effect"
import { makeStartChild, StartChild } from "../../src/Supervisor/Protocol.js"
import { Supervisor } from "../../src/index.js"
import * as Testing from "../testing.js"
import { Worker } from "./helpers.js"

describe("the run-time API's requests", () => {
  it("startChild's request is a StartChild as the Schema constructor makes it: same fields, equal, same encoding", () => {
    const args = ["10.0.0.7", 4000] as const
    for (const spec of [undefined, 7, "x", args, { id: "w", behaviour: Worker, args: undefined }]) {
      const fast = makeStartChild(spec)
      const made = new StartChild({ spec })
      // What `startChild` built before (no validation): the same own fields, in the same order.
      const unchecked = new StartChild({ spec }, true)
      assert.instanceOf(fast, StartChild)
      assert.strictEqual(fast._tag, "rain/Supervisor/StartChild")
      assert.deepStrictEqual(Object.keys(fast), Object.keys(unchecked), "own fields, in the constructor's order")
      assert.isTrue(Equal.equals(fast, unchecked))
      assert.isTrue(Equal.equals(fast, made), `equal for ${String(spec)}`)
      assert.strictEqual(Hash.hash(fast), Hash.hash(made))
    }
    assert.deepStrictEqual(Schema.encodeSync(StartChild)(makeStartChild(args)), Schema.encodeSync(StartChild)(new StartChild({ spec: args })))
  })

  it.scoped("startChild through it starts the children (simple_one_for_one args and a static ChildSpec)", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const dynamic = yield* Supervisor.start(env.node, Supervisor.simpleOneForOne({ id: "w", behaviour: Worker, args: { id: "w", probe: env.probe } }))
      for (let i = 0; i < 3; i++) yield* Supervisor.startChild(env.node, dynamic, { id: `w${i}`, probe: env.probe })
      assert.strictEqual((yield* Supervisor.countChildren(env.node, dynamic)).active, 3)
      const fixed = yield* Supervisor.start(env.node, Supervisor.oneForOne())
      yield* Supervisor.startChild(env.node, fixed, { id: "x", behaviour: Worker, args: { id: "x", probe: env.probe } })
      assert.deepStrictEqual((yield* Supervisor.whichChildren(env.node, fixed)).map((c) => c.id), ["x"])
    }))
})
