import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Node, Process } from "../../src/index.js"

class Increment extends Schema.TaggedClass<Increment>()("Increment", { by: Schema.Number }) {}
class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: {}
}) {}

const Counter = Process.make({
  name: "Counter",
  init: (start: number) => Effect.succeed(start),
  handleMessage: (msg: Increment, count) => Effect.succeed(count + msg.by),
  handleCall: (_req: GetCount, _from, count) => Effect.succeed(Process.reply(count, count))
})

describe("basic", () => {
  it.scoped("spawn, send, call", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("a@localhost")
      const counter = yield* node.spawn(Counter, 10)
      yield* node.send(counter, new Increment({ by: 5 }))
      const n = yield* node.call(counter, new GetCount())
      assert.strictEqual(n, 15)
    }))
})
