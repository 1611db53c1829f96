import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Application, Node, Process, Registrar } from "../../src/index.js"
import { embedded } from "../../src/Registry/internal/embedded.js"
import { eventually, record } from "../fixtures/registrar.js"

const Idle = Process.make({ name: "Idle", init: () => Effect.succeed(undefined) })
const Web = Application.make({ name: "web", version: "1.2.0", root: [{ id: "idle", behaviour: Idle, args: undefined }] })

describe("registrar cluster operations", () => {
  it.scopedLive("static routes: the table's nodes; this node's applications, configuration and events", () =>
    Effect.gen(function*() {
      const registrar = Registrar.staticRoutes({ "b@127.0.0.1": "127.0.0.1:4370" })
      const seen = yield* record(registrar)
      const a = yield* Node.start("a@127.0.0.1", { log: { level: "Error" }, network: { cookie: "c", registrar } })
      assert.deepStrictEqual([...(yield* registrar.nodes)].sort(), ["a@127.0.0.1", "b@127.0.0.1"])
      yield* Application.start(a, Web)
      assert.deepStrictEqual(yield* registrar.resolveApplication("web"), [
        { name: "web", node: "a@127.0.0.1", version: "1.2.0", mode: "temporary", weight: 100 }
      ])
      yield* Application.stop(a, "web")
      assert.deepStrictEqual(yield* registrar.resolveApplication("web"), [])
      yield* registrar.setConfig("k", [1, "two"])
      assert.deepStrictEqual(yield* registrar.getConfig("k"), [1, "two"])
      yield* registrar.deleteConfig("k")
      assert.strictEqual(yield* registrar.getConfig("k"), undefined)
      yield* eventually("four events", Effect.sync(() => seen.length === 4))
      assert.deepStrictEqual(seen.map((e) => e._tag), ["ApplicationStarted", "ApplicationStopped", "ConfigUpdated", "ConfigUpdated"])
      const notJson = yield* Effect.flip(registrar.setConfig("k", 10n))
      assert.include(notJson.message, "not JSON")
      const badMode = yield* Effect.flip(registrar.registerApplication({ name: "x", version: "1", mode: "forever" as never }))
      assert.include(badMode.message, "not temporary, transient or permanent")
    }))

  it.scoped("a Basic registrar (register, lookup, close) still works and is completed in memory", () =>
    Effect.gen(function*() {
      const names: Array<string> = []
      const basic: Registrar.Basic = {
        register: (name) => Effect.sync(() => void names.push(name)),
        lookup: () => Effect.succeed(undefined),
        close: Effect.void
      }
      const full = Registrar.make(basic)
      assert.isTrue(Registrar.isRegistrar(full))
      assert.isFalse(Registrar.isRegistrar(basic))
      assert.strictEqual(Registrar.make(full), full)
      const a = yield* Node.start("a@127.0.0.1", { log: { level: "Error" }, network: { cookie: "c", registrar: basic } })
      assert.deepStrictEqual(names, ["a@127.0.0.1"])
      yield* Application.start(a, Web)
    }))

  it.scopedLive("embedded: the host's nodes, their applications and a shared configuration, with events", () =>
    Effect.gen(function*() {
      const first = embedded(0, "127.0.0.1", 50)
      const a = yield* Node.start("a@127.0.0.1", { log: { level: "Error" }, network: { cookie: "c", registrar: first } })
      const seen = yield* record(first)
      const second = embedded(first.port, "127.0.0.1", 50)
      yield* Effect.scoped(Effect.gen(function*() {
        const b = yield* Node.start("b@127.0.0.1", { log: { level: "Error" }, network: { cookie: "c", registrar: second } })
        assert.deepStrictEqual([...(yield* first.nodes)].sort(), ["a@127.0.0.1", "b@127.0.0.1"])
        yield* Application.start(b, Web, "permanent")
        yield* Application.start(a, Web)
        assert.deepStrictEqual((yield* first.resolveApplication("web")).map((r) => [r.node, r.mode]), [
          ["a@127.0.0.1", "temporary"],
          ["b@127.0.0.1", "permanent"]
        ])
        yield* second.setConfig("limits", { max: 3 })
        assert.deepStrictEqual(yield* first.getConfig("limits"), { max: 3 })
        assert.deepStrictEqual(yield* first.config, new Map([["limits", { max: 3 }]]))
        yield* eventually("a sees b join", Effect.sync(() => seen.some((e) => e._tag === "NodeJoined" && e.node === "b@127.0.0.1")))
        yield* eventually("a sees the value", Effect.sync(() => seen.some((e) => e._tag === "ConfigUpdated" && e.key === "limits")))
      }))
      // b's node stopped: its registration and its applications go
      yield* eventually("a sees b leave", Effect.sync(() => seen.some((e) => e._tag === "NodeLeft" && e.node === "b@127.0.0.1")))
      assert.isTrue(seen.some((e) => e._tag === "ApplicationStopped" && e.node === "b@127.0.0.1"))
      assert.deepStrictEqual(yield* first.nodes, ["a@127.0.0.1"])
      assert.deepStrictEqual((yield* first.resolveApplication("web")).map((r) => r.node), ["a@127.0.0.1"])
      assert.deepStrictEqual(yield* first.getConfig("limits"), { max: 3 })
    }))

  it.scopedLive("a node the registrar says has left is disconnected at once, though its connection still worked", () =>
    Effect.gen(function*() {
      const first = embedded(0, "127.0.0.1", 50)
      const a = yield* Node.start("a@127.0.0.1", { log: { level: "Error" }, network: { cookie: "c", registrar: first } })
      const seen = yield* record(first)
      const second = embedded(first.port, "127.0.0.1", 50)
      const b = yield* Node.start("b@127.0.0.1", { log: { level: "Error" }, network: { cookie: "c", registrar: second } })
      yield* a.connect("b@127.0.0.1")
      assert.deepStrictEqual(yield* a.nodes, ["b@127.0.0.1"])
      const down = yield* Effect.fork(a.monitorNode("b@127.0.0.1"))
      // the registrar's events come from a poll (50 ms here): let it see b first
      yield* eventually("a's registrar sees b", Effect.sync(() => seen.some((e) => e._tag === "NodeJoined" && e.node === "b@127.0.0.1")))
      // b's registration goes (its registrar client closes); b itself and the a-b connection stay up
      yield* second.close
      const nodeDown = yield* Effect.timeout(down.await, "5 seconds").pipe(Effect.flatten)
      assert.deepStrictEqual([nodeDown.node, nodeDown.reason], ["b@127.0.0.1", "disconnected"])
      assert.deepStrictEqual(yield* a.nodes, [])
      yield* eventually("b to see the connection go too", Effect.map(b.nodes, (nodes) => nodes.length === 0))
    }))

  it.scopedLive("embedded: a client looks nodes up on its registration connection, and asks afresh once the server is gone", () =>
    Effect.gen(function*() {
      const first = embedded(0, "127.0.0.1", 50)
      yield* first.register("a@127.0.0.1", 4001)
      const second = embedded(first.port, "127.0.0.1", 50)
      yield* Effect.addFinalizer(() => second.close)
      yield* second.register("b@127.0.0.1", 4002)
      const before = first.accepted
      for (let i = 0; i < 20; i++) {
        assert.deepStrictEqual(yield* second.lookup("a@127.0.0.1"), { host: "127.0.0.1", port: 4001 })
        assert.deepStrictEqual(yield* second.lookup("b@127.0.0.1"), { host: "127.0.0.1", port: 4002 })
        assert.isUndefined(yield* second.lookup("nobody@127.0.0.1"))
      }
      // concurrent lookups each get their own answer (the answers come back in request order)
      const many = yield* Effect.all(
        Array.from({ length: 50 }, (_, i) => second.lookup(i % 2 === 0 ? "a@127.0.0.1" : "b@127.0.0.1")),
        { concurrency: "unbounded" }
      )
      many.forEach((found, i) => assert.strictEqual(found?.port, i % 2 === 0 ? 4001 : 4002))
      assert.strictEqual(first.accepted, before, "no connection of its own per lookup")
      // the server goes away: the client takes the port over and answers for itself
      yield* first.close
      yield* eventually("b takes the registrar over", Effect.map(second.lookup("b@127.0.0.1"), (found) => found?.port === 4002))
      assert.isUndefined(yield* second.lookup("a@127.0.0.1"), "a's registration went with its server")
    }))
})
