import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Etcd3 } from "etcd3"
import { Application, Node, Process, Registrar } from "../../src/index.js"
import * as Etcd from "../../src/Etcd/index.js"
import { startEtcd } from "../fixtures/etcd.js"
import { eventually, record } from "../fixtures/registrar.js"

const Idle = Process.make({ name: "Idle", init: () => Effect.succeed(undefined) })
const Web = Application.make({ name: "web", version: "2.1.0", root: [{ id: "idle", behaviour: Idle, args: undefined }] })

const node = (name: string, registrar: Registrar.Registrar) =>
  Node.start(name, { log: { level: "Error" }, network: { cookie: "c", registrar } })

describe("etcd registrar", () => {
  it.scopedLive("bad options and an unreachable etcd fail the node's start with a message naming the problem", () =>
    Effect.gen(function*() {
      const short = yield* Effect.flip(node("a@127.0.0.1", Etcd.registrar({ endpoints: "127.0.0.1:1", ttl: "500 millis" })))
      assert.strictEqual(short._tag, "NetworkError")
      assert.include(short.message, "ttl must be at least 1 second")
      const none = yield* Effect.flip(node("a@127.0.0.1", Etcd.registrar({ endpoints: [] })))
      assert.include(none.message, "endpoints must be one or more")
      const cluster = yield* Effect.flip(node("a@127.0.0.1", Etcd.registrar({ endpoints: "x:1", cluster: "a/b" })))
      assert.include(cluster.message, "cluster must be a non-empty name")
      // a port nothing listens on (etcd stopped): retried, then refused within connectTimeout
      const etcd = yield* startEtcd()
      yield* etcd.stop
      const unreachable = Etcd.registrar({ endpoints: etcd.endpoint, connectTimeout: "1 second" })
      const failed = yield* Effect.flip(node("a@127.0.0.1", unreachable))
      assert.include(failed.message, etcd.endpoint)
      assert.strictEqual((yield* Effect.flip(unreachable.status))._tag, "RegistrarError")
    }), 60_000)

  it.scopedLive("applications are announced as they start and withdrawn as they stop; configuration is shared with events", () =>
    Effect.gen(function*() {
      const etcd = yield* startEtcd()
      const watcher = Etcd.registrar({ endpoints: etcd.endpoint, ttl: "5 seconds" })
      yield* watcher.register("w@127.0.0.1", 1)
      yield* Effect.addFinalizer(() => watcher.close)
      const seen = yield* record(watcher)
      const registrar = Etcd.registrar({ endpoints: etcd.endpoint, ttl: "5 seconds" })
      const a = yield* node("a@127.0.0.1", registrar)
      yield* eventually("a joins", Effect.sync(() => seen.some((e) => e._tag === "NodeJoined" && e.node === "a@127.0.0.1")))
      yield* Application.start(a, Web, "transient")
      const route: Registrar.ApplicationRoute = { name: "web", node: "a@127.0.0.1", version: "2.1.0", mode: "transient", weight: 100 }
      yield* eventually("web is announced", Effect.map(watcher.resolveApplication("web"), (rs) => rs.length === 1))
      assert.deepStrictEqual(yield* watcher.resolveApplication("web"), [route])
      assert.isTrue(seen.some((e) => e._tag === "ApplicationStarted" && e.route.node === "a@127.0.0.1" && e.route.mode === "transient"))
      yield* Application.stop(a, "web")
      yield* eventually("web is withdrawn", Effect.map(watcher.resolveApplication("web"), (rs) => rs.length === 0))
      assert.isTrue(seen.some((e) => e._tag === "ApplicationStopped" && e.name === "web" && e.node === "a@127.0.0.1"))

      yield* registrar.setConfig("feature/x", { on: true })
      yield* eventually("the value arrives", Effect.map(watcher.getConfig("feature/x"), (v) => (v as any)?.on === true))
      yield* registrar.deleteConfig("feature/x")
      yield* eventually("the delete arrives", Effect.map(watcher.config, (m) => !m.has("feature/x")))
      const updates = seen.filter((e) => e._tag === "ConfigUpdated")
      assert.deepStrictEqual(updates.map((e) => e._tag === "ConfigUpdated" ? [e.key, e.value] : []), [["feature/x", { on: true }], ["feature/x", undefined]])
      assert.include((yield* Effect.flip(registrar.setConfig("", 1))).message, "non-empty string key")
      assert.include((yield* Effect.flip(registrar.registerApplication({ name: "a/b", version: "1", mode: "temporary" }))).message, "without \"/\"")

      // leaving on purpose revokes the lease: seen at once, well before a 5 s TTL... or its expiry
      yield* Effect.scoped(Effect.gen(function*() {
        const b = Etcd.registrar({ endpoints: etcd.endpoint, ttl: "30 seconds", cache: false })
        yield* node("b@127.0.0.1", b)
        assert.deepStrictEqual(yield* b.lookup("a@127.0.0.1"), { host: "127.0.0.1", port: a.port })
        assert.strictEqual(yield* b.lookup("nobody@127.0.0.1"), undefined)
      }))
      yield* eventually("b left", Effect.sync(() => seen.some((e) => e._tag === "NodeLeft" && e.node === "b@127.0.0.1")), "5 seconds")
    }), 60_000)

  it.scopedLive("close ends the registration (the lease revoked) also when register ran in an acquire", () =>
    Effect.gen(function*() {
      const etcd = yield* startEtcd()
      const watcher = Etcd.registrar({ endpoints: etcd.endpoint, ttl: "30 seconds" })
      yield* Effect.acquireRelease(watcher.register("w@127.0.0.1", 1), () => watcher.close)
      const r = Etcd.registrar({ endpoints: etcd.endpoint, ttl: "30 seconds" })
      yield* Effect.scoped(Effect.acquireRelease(r.register("x@127.0.0.1", 7), () => r.close)).pipe(
        Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "close did not finish in 5 s" })
      )
      // revoked, not expired: gone long before the 30 s TTL
      yield* eventually("x is gone", Effect.map(watcher.nodes, (ns) => !ns.includes("x@127.0.0.1")))
      assert.strictEqual((yield* Effect.flip(r.status))._tag, "RegistrarError")
    }), 60_000)

  it.scopedLive("a node the registrar says has left is disconnected: node monitors get NodeDown", () =>
    Effect.gen(function*() {
      const etcd = yield* startEtcd()
      const a = yield* node("a@127.0.0.1", Etcd.registrar({ endpoints: etcd.endpoint, ttl: "30 seconds" }))
      const b = yield* node("b@127.0.0.1", Etcd.registrar({ endpoints: etcd.endpoint, ttl: "30 seconds" }))
      yield* eventually("a knows b", Effect.map(Effect.either(a.connect("b@127.0.0.1")), (e) => e._tag === "Right"))
      const down = yield* Effect.fork(a.monitorNode("b@127.0.0.1"))
      yield* Effect.yieldNow()
      // b's registration disappears as when its lease expires (b itself is alive and connected)
      const client = new Etcd3({ hosts: etcd.endpoint })
      yield* Effect.addFinalizer(() => Effect.sync(() => client.close()))
      yield* Effect.promise(() => client.delete().key("rain/default/nodes/b@127.0.0.1").exec())
      const nodeDown = yield* down.pipe(Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "no NodeDown" }))
      assert.strictEqual(nodeDown.node, "b@127.0.0.1")
      assert.isFalse((yield* a.nodes).includes("b@127.0.0.1"))
      void b
    }), 60_000)
})
