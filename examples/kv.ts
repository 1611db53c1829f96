/**
 * A key-value actor: requests are Schema classes, so the same code works when
 * the store runs on another node.
 *
 *   npx tsx examples/kv.ts
 */
import { Console, Effect, Option, Schema } from "effect"
import { Node, Process } from "rain"

export class Get extends Schema.TaggedRequest<Get>()("Get", {
  failure: Schema.Never,
  success: Schema.Option(Schema.Unknown),
  payload: { key: Schema.String }
}) {}

export class Set extends Schema.TaggedRequest<Set>()("Set", {
  failure: Schema.Never,
  success: Schema.Boolean,
  payload: { key: Schema.String, value: Schema.Unknown }
}) {}

/** A plain message: no reply. */
export class Delete extends Schema.TaggedClass<Delete>()("Delete", { key: Schema.String }) {}

export const KeyValue = Process.make({
  name: "KeyValue",
  init: () => Effect.succeed(new Map<string, unknown>()),
  handleCall: (request: Get | Set, _from, state) => {
    switch (request._tag) {
      case "Get":
        return Effect.succeed(Process.reply(Option.fromNullable(state.get(request.key)), state))
      case "Set":
        return Effect.succeed(Process.reply(true, state.set(request.key, request.value)))
    }
  },
  handleMessage: (message: Delete, state) => Effect.sync(() => (state.delete(message.key), state))
})

Node.runMain("kv@localhost", {}, (node) =>
  Effect.gen(function*() {
    const kv = yield* node.spawn(KeyValue, undefined, { name: "kv" })
    yield* node.call(kv, new Set({ key: "language", value: "TypeScript" }))
    const found = yield* node.call(kv, new Get({ key: "language" }))
    yield* Console.log("language =", Option.getOrElse(found, () => "(none)"))
    yield* node.send(kv, new Delete({ key: "language" }))
    const gone = yield* node.call("kv", new Get({ key: "language" }))
    yield* Console.log("after delete:", Option.isNone(gone) ? "(none)" : gone.value)
    yield* node.stop
  }))
