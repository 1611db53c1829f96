import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import { Counter, GetCount, Increment } from "./helpers.js"

// Compile-time checks: `npm test` runs tsc over this file, so a `@ts-expect-error` that
// stops being an error fails the build.
describe("typed references", () => {
  it.scoped("send and call are checked against the behaviour's protocol", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const counter = yield* env.spawn(Counter, 0)
      yield* env.send(counter, new Increment({ by: 1 }))
      const n: number = yield* env.call(counter, new GetCount())
      // Never run: only compiled.
      const wrongOnPurpose = () => [
        // @ts-expect-error a string is not a message Counter accepts
        env.send(counter, "hello"),
        // @ts-expect-error Increment is not a request Counter answers
        env.call(counter, new Increment({ by: 1 })),
        // An untyped pid accepts anything.
        env.send(counter as Process.Pid, "anything")
      ]
      assert.isFunction(wrongOnPurpose)
      const anyBehaviour: Process.Any = Counter
      assert.strictEqual(anyBehaviour.name, "Counter")
      assert.strictEqual(n, 1)
    }))
})
