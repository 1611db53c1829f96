import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Schema } from "effect"
import { Application, Node, Process, Supervisor } from "../../src/index.js"
import * as Reason from "../../src/Process/ExitReason.js"
import * as Observer from "../../src/Observer/index.js"

const COOKIE = "observer-secret"
const TOKEN = "observer-test-token"

class Bump extends Schema.TaggedClass<Bump>()("test/Observer/Bump", { by: Schema.Number }) {}

/** Counts; a plain `{ by }` sent as a test message bumps it too. */
const Counter = Process.make({
  name: "Counter",
  init: (start: number) => Effect.succeed(start),
  handleMessage: (msg: Bump | { readonly by: number }, n: number) => Effect.succeed(n + msg.by)
})

const Idle = Process.make({ name: "Idle", init: (n: number) => Effect.succeed(n) })

const App = Application.make({
  name: "shop",
  version: "1.0.0",
  description: "a supervised counter",
  root: Supervisor.oneForOne({ intensity: 10, period: "1 minute" }).pipe(
    Supervisor.child({ id: "cart", behaviour: Counter, args: 0, name: "cart" })
  )
})

const startNode = (name: string, routes?: Record<string, string>) =>
  Node.start(name, { network: { cookie: COOKIE, port: 0, messages: [Bump], ...(routes === undefined ? {} : { routes }) } })

interface Answer {
  readonly status: number
  readonly body: any
}

const call = (url: string, init: RequestInit & { readonly token?: string | null } = {}): Effect.Effect<Answer> =>
  Effect.promise(async () => {
    const token = init.token === undefined ? TOKEN : init.token
    const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` }
    if (init.body !== undefined) headers["content-type"] = "application/json"
    const response = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(10_000) })
    const text = await response.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // not JSON: the page or a plain-text refusal
    }
    return { status: response.status, body }
  })

const base = (o: Observer.ObserverService) => `http://127.0.0.1:${o.port}`
const api = (o: Observer.ObserverService, path: string) => `${base(o)}/api/${path}`
const enc = encodeURIComponent

describe("Observer HTTP API", () => {
  it.live("refuses requests without the token, serves them with it, and binds 127.0.0.1", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode("obs@127.0.0.1")
      const observer = yield* Observer.start(node, { token: TOKEN })
      assert.strictEqual(observer.host, "127.0.0.1")
      assert.strictEqual(observer.url, `http://127.0.0.1:${observer.port}/?token=${TOKEN}`)
      const none = yield* call(api(observer, "config"), { token: null })
      assert.strictEqual(none.status, 401)
      assert.strictEqual(none.body.error, "Unauthorized")
      const wrong = yield* call(api(observer, "config"), { token: "not-the-token" })
      assert.strictEqual(wrong.status, 401)
      const ok = yield* call(api(observer, "config"))
      assert.deepStrictEqual(ok.body, { node: "obs@127.0.0.1", readOnly: true })
      const page = yield* call(`${base(observer)}/`, { token: null })
      assert.strictEqual(page.status, 401)
      const opened = yield* call(observer.url, { token: null })
      assert.strictEqual(opened.status, 200)
      assert.match(opened.body, /<script src="\/assets\/observer\.js" defer><\/script>/)
      // the bundle (uPlot inside) is served from here, not from a CDN
      const js = yield* call(`${base(observer)}/assets/observer.js`, { token: null })
      assert.strictEqual(js.status, 200)
      assert.isAbove(String(js.body).length, 20_000)
      assert.notMatch(String(js.body), /https?:\/\/(cdn|unpkg|jsdelivr)/)
      // a random token by default
      const other = yield* Observer.start(node)
      assert.isAtLeast(other.token.length, 16)
      assert.notStrictEqual(other.token, TOKEN)
    })))

  it.live("read-only by default: kill and send are refused and the process lives", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode("obs@127.0.0.1")
      const pid = yield* node.spawn(Counter, 1, { name: "counter" })
      const observer = yield* Observer.start(node, { token: TOKEN })
      const self = enc(node.name)
      const kill = yield* call(api(observer, `nodes/${self}/processes/counter/kill`), { method: "POST" })
      assert.strictEqual(kill.status, 403)
      assert.strictEqual(kill.body.error, "ReadOnly")
      assert.match(kill.body.message, /readOnly: false/)
      const send = yield* call(api(observer, `nodes/${self}/processes/counter/send`), {
        method: "POST",
        body: JSON.stringify({ message: { by: 1 } })
      })
      assert.strictEqual(send.status, 403)
      assert.isTrue(Option.isSome(yield* node.info(pid)))
      const detail = yield* call(api(observer, `nodes/${self}/processes/counter`))
      assert.strictEqual(detail.status, 200)
      assert.strictEqual(detail.body.row.pid, pid.toString())
      assert.strictEqual(detail.body.state, "1")
    })))

  it.live("pages, sorts and filters over 10k processes on the node", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode("obs@127.0.0.1")
      for (let i = 0; i < 10_000; i++) yield* node.spawn(Idle, i, i % 1000 === 0 ? { name: `marked_${i}` } : undefined)
      const observer = yield* Observer.start(node, { token: TOKEN })
      const self = enc(node.name)
      const first = yield* call(api(observer, `nodes/${self}/processes?limit=1000`))
      assert.strictEqual(first.status, 200)
      assert.isAtLeast(first.body.total, 10_000)
      assert.strictEqual(first.body.processes.length, 1000)
      const seen = new Set<string>()
      let offset = 0
      let pages = 0
      while (offset < first.body.matched) {
        const page = yield* call(api(observer, `nodes/${self}/processes?limit=1000&offset=${offset}`))
        assert.strictEqual(page.body.offset, offset)
        for (const row of page.body.processes) seen.add(row.pid)
        offset += page.body.processes.length
        pages++
      }
      assert.strictEqual(seen.size, first.body.matched)
      assert.isAtLeast(pages, 10)
      const marked = yield* call(api(observer, `nodes/${self}/processes?name=marked_&limit=50`))
      assert.strictEqual(marked.body.matched, 10)
      assert.deepStrictEqual(
        marked.body.processes.map((p: { name: string }) => p.name),
        Array.from({ length: 10 }, (_, i) => `marked_${i * 1000}`)
      )
      const byBehaviour = yield* call(api(observer, `nodes/${self}/processes?behaviour=idle&limit=1`))
      assert.strictEqual(byBehaviour.body.matched, 10_000)
      const bad = yield* call(api(observer, `nodes/${self}/processes?limit=5000`))
      assert.strictEqual(bad.status, 400)
      assert.match(bad.body.message, /limit must be a whole number from 1 to 1000, got "5000"/)
      const badSort = yield* call(api(observer, `nodes/${self}/processes?sort=colour`))
      assert.strictEqual(badSort.status, 400)
      assert.match(badSort.body.message, /sort must be one of pid, mailbox, messages, rate, memory, status/)
      const missing = yield* call(api(observer, `nodes/${self}/processes/nobody`))
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(missing.body.error, "ProcessNotFound")
    })))

  it.live("with actions on: send a test message, kill, and the supervisor restarts it (new pid)", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* Node.start("obs@127.0.0.1", { network: { cookie: COOKIE, port: 0 }, applications: [App] })
      const observer = yield* Observer.start(node, { token: TOKEN, readOnly: false })
      const self = enc(node.name)
      const before = yield* call(api(observer, `nodes/${self}/processes/cart`))
      const sent = yield* call(api(observer, `nodes/${self}/processes/cart/send`), {
        method: "POST",
        body: JSON.stringify({ message: { by: 5 } })
      })
      assert.strictEqual(sent.status, 200)
      const bumped = yield* waitFor(() => call(api(observer, `nodes/${self}/processes/cart`)), (a) => a.body.state === "5")
      assert.strictEqual(bumped.body.state, "5")
      const badBody = yield* call(api(observer, `nodes/${self}/processes/cart/send`), { method: "POST", body: "{" })
      assert.strictEqual(badBody.status, 400)
      const killed = yield* call(api(observer, `nodes/${self}/processes/${enc(before.body.row.pid)}/kill`), { method: "POST" })
      assert.strictEqual(killed.status, 200)
      const after = yield* waitFor(() => call(api(observer, `nodes/${self}/processes/cart`)), (a) =>
        a.status === 200 && a.body.row.pid !== before.body.row.pid)
      assert.notStrictEqual(after.body.row.pid, before.body.row.pid)
      const apps = yield* call(api(observer, `nodes/${self}/applications`))
      const shop = apps.body.applications.find((a: { name: string }) => a.name === "shop")
      assert.deepStrictEqual(shop.tree.map((t: { id: string; restarts: number }) => [t.id, t.restarts]), [["root", 1], ["cart", 1]])
    })))

  it.live("tracing: turned on and off from the observer, the process view shows the last messages; refused read-only", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode("obs@127.0.0.1")
      const pid = yield* node.spawn(Counter, 0, { name: "counter" })
      const observer = yield* Observer.start(node, { token: TOKEN, readOnly: false })
      const watching = yield* Observer.start(node, { token: TOKEN })
      const self = enc(node.name)
      const path = `nodes/${self}/processes/counter`
      assert.notProperty((yield* call(api(observer, path))).body, "trace")
      const refused = yield* call(api(watching, `${path}/trace?last=5`), { method: "POST" })
      assert.strictEqual(refused.status, 403)
      assert.match(refused.body.message, /read-only: turning tracing on or off is refused/)
      const noLast = yield* call(api(observer, `${path}/trace`), { method: "POST" })
      assert.strictEqual(noLast.status, 400)
      assert.match(noLast.body.message, /give last=N/)
      const tooMany = yield* call(api(observer, `${path}/trace?last=20000`), { method: "POST" })
      assert.strictEqual(tooMany.status, 400)
      const on = yield* call(api(observer, `${path}/trace?last=2`), { method: "POST" })
      assert.deepStrictEqual([on.status, on.body], [200, { traced: "counter", last: 2 }])
      // A message that would be markup in HTML is only text in the trace.
      for (const by of [1, 2]) yield* node.send(pid, { by, note: "<img src=x onerror=alert(1)>" } as { readonly by: number })
      yield* node.send(pid, new Bump({ by: 3 }))
      const shown = yield* waitFor(() => call(api(observer, path)), (a) => a.body.state === "6")
      assert.strictEqual(shown.body.trace.last, 2)
      assert.deepStrictEqual(shown.body.trace.entries.map((e: { kind: string; message: string }) => [e.kind, e.message]), [
        ["message", "{ by: 2, note: '<img src=x onerror=alert(1)>' }"],
        ["message", "Bump { by: 3, _tag: 'test/Observer/Bump' }"]
      ])
      // The read-only observer shows the trace too (reading is not an action).
      assert.strictEqual((yield* call(api(watching, path))).body.trace.entries.length, 2)
      const off = yield* call(api(observer, `${path}/trace?last=0`), { method: "POST" })
      assert.strictEqual(off.status, 200)
      assert.notProperty((yield* call(api(observer, path))).body, "trace")
      const missing = yield* call(api(observer, `nodes/${self}/processes/nobody/trace?last=3`), { method: "POST" })
      assert.strictEqual(missing.status, 404)
      // The table's messages/s comes from the node, sorted there.
      const byRate = yield* call(api(observer, `nodes/${self}/processes?sort=rate&name=counter`))
      assert.strictEqual(byRate.status, 200)
      assert.strictEqual(byRate.body.processes[0].pid, pid.toString())
      assert.property(byRate.body.processes[0], "rate")
      const byStatus = yield* call(api(observer, `nodes/${self}/processes?sort=status`))
      assert.strictEqual(byStatus.status, 200)
    })))

  it.live("one observer inspects the connected nodes too, and says which it cannot reach", () =>
    Effect.scoped(Effect.gen(function*() {
      const b = yield* startNode("b@127.0.0.1")
      const a = yield* startNode("a@127.0.0.1", { "b@127.0.0.1": b.address })
      yield* b.spawn(Counter, 7, { name: "on_b" })
      yield* a.connect("b@127.0.0.1")
      const observer = yield* Observer.start(a, { token: TOKEN, sampleInterval: "200 millis" })
      const nodes = yield* call(api(observer, "nodes"))
      assert.deepStrictEqual(nodes.body.nodes, [{ name: "a@127.0.0.1", self: true }, { name: "b@127.0.0.1", self: false }])
      const info = yield* call(api(observer, `nodes/${enc("b@127.0.0.1")}/info`))
      assert.strictEqual(info.body.node, "b@127.0.0.1")
      assert.deepStrictEqual(info.body.connections.map((c: { node: string }) => c.node), ["a@127.0.0.1"])
      const onB = yield* call(api(observer, `nodes/${enc("b@127.0.0.1")}/processes?name=on_b`))
      assert.strictEqual(onB.body.processes[0].name, "on_b")
      const metrics = yield* waitFor(() => call(api(observer, "metrics")), (m) =>
        m.body.t.length >= 3 && m.body.nodes["b@127.0.0.1"] !== undefined)
      assert.isAbove(metrics.body.nodes["b@127.0.0.1"].processes.at(-1), 0)
      assert.isAbove(metrics.body.nodes["a@127.0.0.1"].memory.at(-1), 0)
      const unknown = yield* call(api(observer, `nodes/${enc("c@127.0.0.1")}/info`))
      assert.strictEqual(unknown.status, 502)
      assert.match(unknown.body.message, /Cannot inspect c@127\.0\.0\.1: it is not connected to this node/)
    })))

  it.live("as a layer on the node of the context: serves while the layer lives, then releases its port", () =>
    Effect.gen(function*() {
      const NodeLive = Node.layer("layered@127.0.0.1", { network: { cookie: COOKIE, port: 0 } })
      const observer = yield* Effect.scoped(Effect.gen(function*() {
        const o = yield* Observer.Observer
        const config = yield* call(api(o, "config"))
        assert.deepStrictEqual(config.body, { node: "layered@127.0.0.1", readOnly: true })
        return o
      }).pipe(Effect.provide(Observer.layer({ token: TOKEN }).pipe(Layer.provide(NodeLive)))))
      const closed = yield* Effect.promise(() =>
        fetch(api(observer, "config"), { signal: AbortSignal.timeout(5_000) }).then(() => "answered", (e) => String(e))
      )
      assert.match(closed, /fetch failed|ECONNREFUSED/)
    }))

  it.live("as an application: a supervised process that answers GetUrl, restarted when killed, its port freed", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* Node.start("app@127.0.0.1", {
        network: { cookie: COOKIE, port: 0 },
        applications: [Observer.application({ token: TOKEN })]
      })
      const url = yield* node.call("rain_observer", new Observer.GetUrl())
      const port = Number(new URL(url).port)
      const config = yield* call(`http://127.0.0.1:${port}/api/config`)
      assert.deepStrictEqual(config.body, { node: "app@127.0.0.1", readOnly: true })
      const first = yield* node.whereis("rain_observer")
      yield* node.exit(Option.getOrThrow(first), Reason.kill)
      const restarted = yield* waitFor(
        () => Effect.map(node.whereis("rain_observer"), (p) => ({ p, first })),
        ({ p }) => Option.isSome(p) && p.value.toString() !== Option.getOrThrow(first).toString()
      )
      assert.isTrue(Option.isSome(restarted.p))
      const again = yield* node.call("rain_observer", new Observer.GetUrl())
      const answer = yield* call(`http://127.0.0.1:${new URL(again).port}/api/config`)
      assert.strictEqual(answer.status, 200)
      // the killed one's server is closed
      if (new URL(again).port !== String(port)) {
        const old = yield* Effect.promise(() =>
          fetch(`http://127.0.0.1:${port}/api/config`, { signal: AbortSignal.timeout(5_000) }).then(() => "answered", (e) => String(e))
        )
        assert.match(old, /fetch failed/)
      }
    })))

  it.live("bad options and a node without network fail to start with a clear error", () =>
    Effect.scoped(Effect.gen(function*() {
      const alone = yield* Node.start("alone@127.0.0.1")
      const noNetwork = yield* Effect.flip(Observer.start(alone))
      assert.strictEqual(noNetwork.reason, "network")
      assert.match(noNetwork.message, /has no network.*start the node with network options/)
      const node = yield* startNode("obs@127.0.0.1")
      const badPort = yield* Effect.flip(Observer.start(node, { port: 70000 }))
      assert.strictEqual(badPort.reason, "options")
      assert.match(badPort.message, /port must be a whole number from 0 to 65535/)
      const shortToken = yield* Effect.flip(Observer.start(node, { token: "abc" }))
      assert.match(shortToken.message, /token must be at least 8 characters/)
      const first = yield* Observer.start(node, { token: TOKEN })
      const taken = yield* Effect.flip(Observer.start(node, { port: first.port }))
      assert.strictEqual(taken.reason, "listen")
      assert.match(taken.message, /cannot listen on 127\.0\.0\.1/)
    })))
})

/** Polls `get` every 100 ms until `done`, for at most 10 s (then fails with the last answer). */
const waitFor = <A>(get: () => Effect.Effect<A>, done: (a: A) => boolean): Effect.Effect<A> =>
  Effect.gen(function*() {
    let last: A | undefined
    for (let i = 0; i < 100; i++) {
      last = yield* get()
      if (done(last)) return last
      yield* Effect.sleep("100 millis")
    }
    return yield* Effect.die(new Error(`condition not met in 10 s; last answer: ${JSON.stringify(last)}`))
  })
