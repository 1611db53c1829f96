import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Node, Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import { Counter, GetCount, Increment } from "./helpers.js"

// Compile-time checks: `npm test` runs tsc over this file, so a `@ts-expect-error` that
// stops being an error fails the build. The functions named `wrongOnPurpose` never run.

class GetName extends Schema.TaggedRequest<GetName>()("types/GetName", {
  failure: Schema.Never,
  success: Schema.String,
  payload: {}
}) {}

/** Handlers in an order that used to fix the protocol before TypeScript saw it. */
const PingPong = Process.make({
  name: "PingPong",
  init: (_: void, ctx) => Effect.as(ctx.send(ctx.self, "ping"), 0),
  handleInfo: (_info, n, _ctx) => Effect.succeed(n),
  handleCall: (_req: GetCount, from, n, ctx) => Effect.as(ctx.reply(from, n), Process.noReply(n)),
  handleMessage: (msg: "ping" | "pong", n, ctx) =>
    msg === "ping" ? Effect.as(ctx.send(ctx.self, "pong"), n + 1) : Effect.succeed(n)
})

describe("typed references", () => {
  it.scoped("send and call are checked against the behaviour's protocol", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const counter = yield* env.spawn(Counter, 0)
      yield* env.send(counter, new Increment({ by: 1 }))
      const n: number = yield* env.call(counter, new GetCount())
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

  it.scoped("a literal outside a Ref's message union does not compile, whichever send is used", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("types@localhost")
      const ref: Process.Ref<"ping" | "pong", GetCount> = yield* node.spawn(PingPong, undefined)
      yield* node.send(ref, "pong")
      yield* node.trySend(ref, "ping")
      assert.strictEqual(yield* node.call(ref, new GetCount(), "1 second"), 2)
      const Sender = Process.make({
        name: "Sender",
        init: (to: Process.Ref<"ping" | "pong">) => Effect.succeed(to),
        handleMessage: (_msg: "go", to, ctx) => {
          const wrongOnPurpose = () => [
            // @ts-expect-error "pang" is neither "ping" nor "pong"
            ctx.send(to, "pang"),
            // @ts-expect-error the same for a timer
            ctx.sendAfter(to, "pang", "1 second"),
            // @ts-expect-error and for an important send
            ctx.sendImportant(to, "pang"),
            // @ts-expect-error and for a call: PingPong answers GetCount only
            ctx.call(ref, new GetName())
          ]
          return Effect.as(ctx.send(to, "ping"), wrongOnPurpose.length > 0 ? to : to)
        }
      })
      assert.strictEqual(Sender.name, "Sender")
      const wrongOnPurpose = () => [
        // @ts-expect-error node.send
        node.send(ref, "pang"),
        // @ts-expect-error node.trySend
        node.trySend(ref, "pang"),
        // @ts-expect-error Node.send
        Node.send(ref, "pang"),
        // @ts-expect-error node.sendImportant
        node.sendImportant(ref, "pang"),
        // @ts-expect-error a call with a request the process does not answer
        node.call(ref, new GetName())
      ]
      assert.isFunction(wrongOnPurpose)
    }))

  it("a reply to a TaggedRequest is checked against its success type, also with explicit type arguments", () => {
    // Right: GetCount's success is a number, GetName's a string.
    const Both = Process.make({
      name: "Both",
      init: () => Effect.succeed(0),
      handleCall: (req: GetCount | GetName, _from, n) =>
        Effect.succeed(req._tag === "GetCount" ? Process.reply(n, n) : Process.reply("name", n))
    })
    assert.strictEqual(Both.name, "Both")
    const wrongOnPurpose = () => [
      Process.make({
        name: "WrongReply",
        init: () => Effect.succeed(0),
        // @ts-expect-error a boolean is not GetCount's success (number)
        handleCall: (_req: GetCount, _from, n) => Effect.succeed(Process.reply(true, n))
      }),
      Process.make({
        name: "WrongReplyExplicit",
        init: () => Effect.succeed(0),
        // @ts-expect-error an explicit type argument does not bypass the check
        handleCall: (_req: GetCount, _from, n) => Effect.succeed(Process.reply<unknown, number>("x", n))
      }),
      Process.make({
        name: "WrongDeferred",
        init: () => Effect.succeed(0),
        handleCall: (_req: GetCount, from, n, ctx) =>
          Effect.all([
            // @ts-expect-error ctx.reply through the typed from: a string is not a number
            ctx.reply(from, "x"),
            // @ts-expect-error nor with an explicit type argument
            ctx.reply<unknown>(from, "x"),
            // @ts-expect-error nor with another one
            ctx.reply<string>(from, "x"),
            ctx.reply(from, n)
          ]).pipe(Effect.as(Process.noReply(n)))
      })
    ]
    assert.isFunction(wrongOnPurpose)
  })
})
