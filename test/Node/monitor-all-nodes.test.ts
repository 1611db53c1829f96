import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Process } from "../../src/index.js"
import type { Process as P } from "../../src/index.js"
import { cluster } from "../fixtures/dist.js"

/** Forwards its infos to `to`; "watch"/"unwatch" (de)monitor every node, each answered with "ack". */
const Watcher = Process.make({
  name: "Watcher",
  init: (to: P.Pid) => Effect.succeed(to),
  handleMessage: (msg: "watch" | "unwatch", to, ctx) =>
    (msg === "watch" ? ctx.monitorNode("*") : ctx.demonitorNode("*")).pipe(Effect.zipRight(ctx.send(to, "ack")), Effect.as(to)),
  handleInfo: (info, to, ctx) => Effect.as(ctx.send(to, info), to)
})

const isNodeUp = (u: unknown): u is Process.NodeUp => u instanceof Process.NodeUp
const isNodeDown = (u: unknown): u is Process.NodeDown => u instanceof Process.NodeDown

describe("ctx.monitorNode(\"*\")", () => {
  it.scopedLive("reports every node that connects or disconnects, and nothing for the nodes not connected", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const c = yield* make("c@127.0.0.1")
      const watcher = yield* a.spawn(Watcher, a.probe)
      yield* a.send(watcher, "watch")
      // unlike monitorNode(name), no "not connected" NodeDown at once
      assert.strictEqual(yield* a.receive("5 seconds"), "ack")
      yield* b.node.connect("a@127.0.0.1")
      assert.strictEqual((yield* a.receiveMatching(isNodeUp, "5 seconds")).node, "b@127.0.0.1")
      yield* a.node.connect("c@127.0.0.1")
      assert.strictEqual((yield* a.receiveMatching(isNodeUp, "5 seconds")).node, "c@127.0.0.1")
      yield* c.node.disconnect("a@127.0.0.1")
      assert.strictEqual((yield* a.receiveMatching(isNodeDown, "5 seconds")).node, "c@127.0.0.1")
      // demonitorNode("*") stops it
      yield* a.send(watcher, "unwatch")
      assert.strictEqual(yield* a.receive("5 seconds"), "ack")
      yield* b.node.disconnect("a@127.0.0.1")
      yield* a.expectNoMessage("300 millis")
    }), 60_000)
})
