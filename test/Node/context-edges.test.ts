/**
 * A handler's context at its edges (src/Node/internal/context.ts) and how reports show
 * values and message types (src/Node/internal/reports.ts).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Process as P } from "../../src/index.js"
import { Process, Testing } from "../../src/index.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"
import { render, typeName } from "../../src/Node/internal/reports.js"

type Ask =
  | { readonly monitorNode: string }
  | { readonly demonitorNode: string }
  | "alias"
  | "node"
  | "important"
  | { readonly unalias: P.Alias }
  | string

/** Does what it is told with its context and tells `to` the result; forwards other text and every info. */
const Asker = Process.make({
  name: "Asker",
  init: (to: P.Pid) => Effect.succeed(to),
  handleMessage: (ask: Ask, to, ctx) => {
    if (ask === "node") return Effect.as(ctx.send(to, ctx.node), to)
    if (ask === "important") {
      return Effect.as(Effect.zipRight(ctx.sendImportant(to, "sent importantly"), ctx.callImportant("nobody" as unknown as P.Pid, "never answered").pipe(Effect.flip, Effect.flatMap((e) => ctx.send(to, e._tag)))), to)
    }
    if (ask === "alias") return Effect.as(Effect.flatMap(ctx.alias(), (alias) => ctx.send(to, alias)), to)
    if (typeof ask === "string") return Effect.as(ctx.send(to, ask), to)
    if ("unalias" in ask) return Effect.as(Effect.flatMap(ctx.unalias(ask.unalias), (done) => ctx.send(to, done)), to)
    if ("monitorNode" in ask) return Effect.as(Effect.zipRight(ctx.monitorNode(ask.monitorNode), ctx.send(to, "ok")), to)
    return Effect.as(Effect.zipRight(ctx.demonitorNode(ask.demonitorNode), ctx.send(to, "ok")), to)
  },
  handleInfo: (info, to, ctx) => Effect.as(ctx.send(to, info), to)
})

describe("ctx.monitorNode on a node without that connection", () => {
  it.scoped("an unconnected node is down at once (NodeDown, not connected); its own node and \"*\" are not", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ name: "ctx@localhost" })
      const kernel = kernelOf(env.node)
      const asker = yield* env.spawn(Asker, env.probe)
      yield* env.send(asker, { monitorNode: "ctx@localhost" })
      assert.strictEqual(yield* env.receive(), "ok")
      yield* env.send(asker, { monitorNode: "*" })
      assert.strictEqual(yield* env.receive(), "ok")
      yield* env.expectNoMessage("20 millis")
      yield* env.send(asker, { monitorNode: "gone@localhost" })
      assert.strictEqual(yield* env.receive(), "ok")
      const down = yield* env.receive()
      assert.instanceOf(down, Process.NodeDown)
      assert.deepStrictEqual([(down as Process.NodeDown).node, (down as Process.NodeDown).reason], ["gone@localhost", "not connected"])
      // the watch stays until it is taken back, by both sides' bookkeeping
      assert.isTrue(kernel.nodeWatchers.get("gone@localhost")?.has(kernel.lookup(asker)!))
      yield* env.send(asker, { demonitorNode: "gone@localhost" })
      assert.strictEqual(yield* env.receive(), "ok")
      assert.isFalse(kernel.nodeWatchers.get("gone@localhost")!.has(kernel.lookup(asker)!))
      assert.isFalse(kernel.lookup(asker)!.nodeWatches!.has("gone@localhost"))
      // taking back a watch never set is a no-op
      yield* env.send(asker, { demonitorNode: "never@localhost" })
      assert.strictEqual(yield* env.receive(), "ok")
    }))
})

describe("the rest of ctx", () => {
  it.scoped("ctx.node is the node's name; ctx.sendImportant needs no options; ctx.callImportant calls", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ name: "ctx@localhost" })
      const asker = yield* env.spawn(Asker, env.probe)
      yield* env.send(asker, "node")
      assert.strictEqual(yield* env.receive(), "ctx@localhost")
      yield* env.send(asker, "important")
      assert.strictEqual(yield* env.receive(), "sent importantly")
      // to nobody: refused at once, as an important call is
      assert.strictEqual(yield* env.receive(), "ProcessUnknown")
    }))

  it.scoped("processes watching one node share its watcher set; a process that watched nothing may take a watch back", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ name: "ctx@localhost" })
      const kernel = kernelOf(env.node)
      const first = yield* env.spawn(Asker, env.probe)
      const second = yield* env.spawn(Asker, env.probe)
      const fresh = yield* env.spawn(Asker, env.probe)
      for (const pid of [first, second]) {
        yield* env.send(pid, { monitorNode: "*" })
        assert.strictEqual(yield* env.receive(), "ok")
      }
      assert.strictEqual(kernel.nodeWatchers.get("*")!.size, 2)
      yield* env.send(fresh, { demonitorNode: "*" })
      assert.strictEqual(yield* env.receive(), "ok")
      assert.strictEqual(kernel.nodeWatchers.get("*")!.size, 2)
    }))
})

describe("ctx.alias and ctx.unalias", () => {
  it.scoped("each alias is new and reaches its process; only its owner takes it back, once", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const owner = yield* env.spawn(Asker, env.probe)
      const other = yield* env.spawn(Asker, env.probe)
      yield* env.send(owner, "alias")
      const first = (yield* env.receive()) as P.Alias
      yield* env.send(owner, "alias")
      const second = (yield* env.receive()) as P.Alias
      assert.notStrictEqual(first.id, second.id)
      assert.deepStrictEqual(kernel.lookup(owner)!.aliases, [first.id, second.id])
      yield* env.send(first, "through the first alias")
      assert.strictEqual(yield* env.receive(), "through the first alias")
      // another process cannot take it back
      yield* env.send(other, { unalias: first })
      assert.isFalse(yield* env.receive())
      yield* env.send(owner, { unalias: first })
      assert.isTrue(yield* env.receive())
      assert.deepStrictEqual(kernel.lookup(owner)!.aliases, [second.id])
      yield* env.send(owner, { unalias: first })
      assert.isFalse(yield* env.receive(), "already taken back")
      // an alias of another node is not this node's to take back, even with the id of one of ours
      yield* env.send(owner, { unalias: Object.assign(Object.create(Object.getPrototypeOf(second)), { ...second, node: "elsewhere@localhost" }) })
      assert.isFalse(yield* env.receive())
      assert.deepStrictEqual(kernel.lookup(owner)!.aliases, [second.id], "ours is still there")
      yield* env.send(first, "after unalias")
      yield* env.expectNoMessage("20 millis")
      yield* env.node.exit(owner, Process.ExitReason.kill)
      yield* env.exitReason(owner)
      assert.isFalse(kernel.aliases.has(second.id), "an exit takes its aliases with it")
    }))
})

describe("reports", () => {
  it("typeName: the _tag, else the class, else the JS type", () => {
    class Plain {}
    assert.strictEqual(typeName(null), "null")
    assert.strictEqual(typeName(undefined), "undefined")
    assert.strictEqual(typeName(7), "number")
    assert.strictEqual(typeName("s"), "string")
    assert.strictEqual(typeName({ _tag: "Ping" }), "Ping")
    assert.strictEqual(typeName({ _tag: 3 }), "Object")
    assert.strictEqual(typeName(new Plain()), "Plain")
    assert.strictEqual(typeName(Object.create(null)), "Object")
  })

  it("render: one line, bounded to 500 characters", () => {
    assert.strictEqual(render({ a: [1, 2], b: "x" }), "{ a: [ 1, 2 ], b: 'x' }")
    assert.strictEqual(render({ a: { b: { c: { d: { e: 1 } } } } }), "{ a: { b: { c: { d: [Object] } } } }")
    assert.strictEqual(render(Array.from({ length: 12 }, (_, i) => i)), "[ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... 2 more items ]")
    const long = render(Array.from({ length: 10 }, () => "x".repeat(100)))
    assert.strictEqual(long.length, 503)
    assert.isTrue(long.endsWith("..."))
    // five strings in an array: 2 + 4 × (94 + 2 + 2) + (n + 2) + 2 characters
    const strings = (n: number) => [..."abcd"].map((c) => c.repeat(94)).concat("e".repeat(n))
    const exactly = render(strings(102))
    assert.strictEqual(exactly.length, 500)
    assert.isFalse(exactly.endsWith("..."), "500 characters stay whole")
    assert.strictEqual(render(strings(103)).length, 503, "501 are cut to 500 and ...")
    assert.strictEqual(render(strings(103)).slice(0, 497), exactly.slice(0, 497))
    assert.strictEqual(render("z".repeat(300)), `'${"z".repeat(200)}'... 100 more characters`)
  })
})
