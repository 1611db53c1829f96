// Code of docs/guides/getting-started.md (type-checked by `npm run typecheck`).
import { Effect, Schema } from "effect"
import { Node, Process } from "rain"

class Increment extends Schema.TaggedClass<Increment>()("Increment", { by: Schema.Number }) {}
class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: {}
}) {}

export const Counter = Process.make({
  name: "Counter",
  init: (start: number) => Effect.succeed(start),
  handleMessage: (msg: Increment, count) => Effect.succeed(count + msg.by),
  handleCall: (_req: GetCount, _from, count) => Effect.succeed(Process.reply(count, count))
})

export const program = Effect.scoped(Effect.gen(function*() {
  const node = yield* Node.start("counter@localhost")
  const counter = yield* node.spawn(Counter, 0, { name: "counter" })
  yield* node.send(counter, new Increment({ by: 2 }))
  const n = yield* node.call(counter, new GetCount())
  yield* Effect.log(`count: ${n}`)
}))

export const run = () => Effect.runPromise(program)

export const main = () =>
  Node.runMain("counter@localhost", {}, (node) =>
    Effect.gen(function*() {
      const counter = yield* node.spawn(Counter, 0, { name: "counter" })
      yield* node.send(counter, new Increment({ by: 1 }))
    }))
