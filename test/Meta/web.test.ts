import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option } from "effect"
import type { Process as P } from "../../src/index.js"
import * as Meta from "../../src/Meta/index.js"
import { Node, Process, Supervisor } from "../../src/index.js"
import { accepts, eventually, rawExchange, request } from "./helpers.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"

/** Serves: `/crash` crashes, `/slow?ms=N` answers after N ms, `/never` never answers, `/echo` echoes the body. */
const Api = Process.make({
  name: "Api",
  init: () => Effect.succeed({ n: 0 }),
  handleCall: (req: Meta.WebRequest, from, state, ctx) => {
    state.n++
    switch (req.path) {
      case "/crash":
        return Effect.fail(new Error("boom"))
      case "/slow":
        return Effect.as(ctx.sendAfter(ctx.self, from, Number(req.query.get("ms"))), Process.noReply(state))
      case "/never":
        return Effect.succeed(Process.noReply(state))
      case "/echo":
        return Effect.succeed(Process.reply(Meta.WebResponse.text(`echo: ${req.text}`), state))
      case "/bytes":
        // a handler that replies with something else (an `as` a user might write): the server answers 500
        return Effect.succeed(Process.reply(new Uint8Array([104, 105]) as unknown as Meta.WebResponse, state))
      default:
        return Effect.succeed(
          Process.reply(Meta.WebResponse.json({ method: req.method, path: req.path, n: state.n }), state)
        )
    }
  },
  handleMessage: (from: Process.From, state, ctx) =>
    Effect.as(ctx.reply(from, Meta.WebResponse.text("slow done")), state)
})

const startWeb = (node: Node.NodeService, spec: Partial<Meta.WebServerSpec> = {}) =>
  Effect.gen(function*() {
    if (Option.isNone(yield* node.whereis("api"))) yield* node.spawn(Api, undefined, { name: "api" })
    const web = yield* node.spawn(Meta.WebServer, { port: 0, handler: "api", ...spec })
    const address = yield* node.call(web, new Meta.GetAddress())
    return { web, port: address.port }
  })

const detail = (node: Node.NodeService, pid: P.Pid) =>
  Effect.map(node.info(pid), (info) => Option.getOrThrow(info).detail as Meta.WebServerInfo)

describe("Meta.WebServer", () => {
  it.scopedLive("serves requests through a handler process; info shows the address and counts", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("web@localhost")
      const { port, web } = yield* startWeb(node)
      const get = yield* request(port, "/hello?x=1")
      assert.strictEqual(get.status, 200)
      assert.deepStrictEqual(JSON.parse(get.body), { method: "GET", path: "/hello", n: 1 })
      const post = yield* request(port, "/echo", { method: "POST", body: "ping" })
      assert.strictEqual(post.body, "echo: ping")
      const bytes = yield* request(port, "/bytes")
      assert.strictEqual(bytes.status, 500)
      assert.match(bytes.body, /not a Meta\.WebResponse/)
      const info = yield* detail(node, web)
      assert.strictEqual(info.kind, "WebServer")
      assert.strictEqual(info.address, `127.0.0.1:${port}`)
      yield* eventually(Effect.map(detail(node, web), (d) => d.served === 3 && d.inFlight === 0), "3 served")
    }))

  it.scopedLive("a handler crash gets a 500 and the server keeps serving (handler restarted by its supervisor)", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("web@localhost")
      yield* Supervisor.start(node, Supervisor.oneForOne({ intensity: 5 }).pipe(
        Supervisor.child({ id: "api", behaviour: Api, args: undefined, name: "api" })
      ))
      const { port, web } = yield* startWeb(node)
      const crash = yield* request(port, "/crash")
      assert.strictEqual(crash.status, 500)
      assert.match(crash.body, /handler crashed on this request/)
      // the restarted handler (n counts from 1 again) answers the next request
      yield* eventually(Effect.map(node.whereis("api"), Option.isSome), "api restarted")
      const next = yield* request(port, "/after")
      assert.strictEqual(next.status, 200)
      assert.strictEqual(JSON.parse(next.body).n, 1)
      assert.isTrue(Option.isSome(yield* node.info(web)))
    }))

  it.scopedLive("a handler that is not running gets a 503 that says so", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("web@localhost")
      const web = yield* node.spawn(Meta.WebServer, { port: 0, handler: "nobody" })
      const { port } = yield* node.call(web, new Meta.GetAddress())
      const response = yield* request(port, "/")
      assert.strictEqual(response.status, 503)
      assert.match(response.body, /nobody is not running/)
    }))

  it.scopedLive("bodies over maxBodySize get 413, by content-length or while streaming", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("web@localhost")
      const { port } = yield* startWeb(node, { maxBodySize: 10 })
      const small = yield* request(port, "/echo", { method: "POST", body: "0123456789" })
      assert.strictEqual(small.body, "echo: 0123456789")
      const big = yield* request(port, "/echo", { method: "POST", body: "0123456789A" })
      assert.strictEqual(big.status, 413)
      assert.match(big.body, /over this server's limit of 10 bytes/)
      const chunked = yield* rawExchange(
        port,
        "POST /echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n" +
          "8\r\n01234567\r\n8\r\n89ABCDEF\r\n0\r\n\r\n"
      )
      assert.match(chunked, /^HTTP\/1.1 413/)
      assert.match(chunked, /limit of 10 bytes/)
    }))

  it.scopedLive("a malformed request gets 400 with a body that says why", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("web@localhost")
      const { port } = yield* startWeb(node)
      const response = yield* rawExchange(port, "GARBAGE\r\n\r\n")
      assert.match(response, /^HTTP\/1.1 400 Bad Request/)
      assert.match(response, /HPE_/)
      const ok = yield* request(port, "/still-up")
      assert.strictEqual(ok.status, 200)
    }))

  it.scopedLive("a client that does not send its whole request within requestTimeout gets 408 with why", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("web@localhost")
      const { port } = yield* startWeb(node, { requestTimeout: "300 millis" })
      const started = Date.now()
      const response = yield* rawExchange(port, "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc")
      assert.match(response, /^HTTP\/1.1 408 Request Timeout/)
      assert.match(response, /ERR_HTTP_REQUEST_TIMEOUT/)
      assert.isBelow(Date.now() - started, 2500)
    }))

  it.scopedLive("a handler that does not answer within requestTimeout gets 504", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("web@localhost")
      const { port } = yield* startWeb(node, { requestTimeout: "200 millis" })
      const started = Date.now()
      const response = yield* request(port, "/never")
      assert.strictEqual(response.status, 504)
      assert.match(response.body, /did not answer within 200 ms/)
      assert.isBelow(Date.now() - started, 2000)
    }))

  it.scopedLive("graceful stop: refuses new connections, finishes in-flight requests, releases the port", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("web@localhost")
      const { port, web } = yield* startWeb(node, { shutdownTimeout: "3 seconds" })
      const slow = yield* Effect.fork(request(port, "/slow?ms=300"))
      yield* eventually(Effect.map(detail(node, web), (d) => d.inFlight === 1), "request in flight")
      const stopping = yield* Effect.fork(node.exit(web, Process.ExitReason.shutdown).pipe(
        Effect.zipRight(node.awaitExit(web))
      ))
      yield* eventually(Effect.map(accepts(port), (up) => !up), "listener closed")
      const response = yield* Fiber.join(slow)
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.body, "slow done")
      assert.strictEqual((yield* Fiber.join(stopping))._tag, "shutdown")
      // the port is free again
      const again = yield* node.spawn(Meta.WebServer, { port, handler: "api" })
      assert.strictEqual((yield* request(port, "/")).status, 200)
      yield* node.exit(again, Process.ExitReason.shutdown)
    }))

  it.scopedLive("stop cuts requests still running after shutdownTimeout", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("web@localhost")
      const { port, web } = yield* startWeb(node, { shutdownTimeout: "150 millis" })
      const never = yield* Effect.fork(Effect.exit(request(port, "/never")))
      yield* eventually(Effect.map(detail(node, web), (d) => d.inFlight === 1), "request in flight")
      const started = Date.now()
      yield* node.exit(web, Process.ExitReason.shutdown)
      yield* node.awaitExit(web)
      const elapsed = Date.now() - started
      assert.isAtLeast(elapsed, 100)
      assert.isBelow(elapsed, 1500)
      assert.isTrue(Exit.isFailure(yield* Fiber.join(never)))
    }))

  it.scopedLive("a supervisor restarts a killed listener on the same port", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("web@localhost")
      const probe = yield* startWeb(node)
      yield* node.exit(probe.web, Process.ExitReason.shutdown)
      yield* node.awaitExit(probe.web)
      const port = probe.port
      const sup = yield* Supervisor.start(node, Supervisor.oneForOne({ intensity: 5 }).pipe(
        Supervisor.child({ id: "web", behaviour: Meta.WebServer, args: { port, handler: "api" } })
      ))
      assert.strictEqual((yield* request(port, "/")).status, 200)
      const [first] = yield* Supervisor.whichChildren(node, sup)
      yield* node.exit(first.pid!, Process.ExitReason.kill)
      yield* eventually(
        Effect.map(Supervisor.whichChildren(node, sup), ([c]) => c.pid !== undefined && String(c.pid) !== String(first.pid)),
        "restarted"
      )
      assert.strictEqual((yield* request(port, "/")).status, 200)
    }))

  it.scopedLive("restarts on the same port 100 times", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("web@localhost")
      const first = yield* startWeb(node)
      const port = first.port
      yield* node.exit(first.web, Process.ExitReason.shutdown)
      yield* node.awaitExit(first.web)
      for (let i = 0; i < 100; i++) {
        const web = yield* node.spawn(Meta.WebServer, { port, handler: "api" })
        const response = yield* request(port, `/round/${i}`)
        assert.strictEqual(JSON.parse(response.body).path, `/round/${i}`)
        yield* node.exit(web, i % 2 === 0 ? Process.ExitReason.shutdown : Process.ExitReason.kill)
        yield* node.awaitExit(web)
        if (i % 2 === 1) yield* eventually(Effect.map(accepts(port), (up) => !up), "killed listener released")
      }
    }), 30_000)

  it.scopedLive("a pool of handler processes is used in turn", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("web@localhost")
      const a = yield* node.spawn(Api, undefined)
      const b = yield* node.spawn(Api, undefined)
      const web = yield* node.spawn(Meta.WebServer, { port: 0, handler: [a, b] })
      const { port } = yield* node.call(web, new Meta.GetAddress())
      const ns: Array<number> = []
      for (let i = 0; i < 4; i++) ns.push(JSON.parse((yield* request(port, "/")).body).n)
      assert.deepStrictEqual(ns, [1, 1, 2, 2])
    }))

  it.scopedLive("serves an HttpRouter whose handlers call processes", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("web@localhost")
      yield* node.spawn(Api, undefined, { name: "api" })
      const router = HttpRouter.empty.pipe(
        HttpRouter.get(
          "/count",
          Effect.flatMap(
            node.call("api", new Meta.WebRequest({ method: "GET", url: "/", headers: {}, body: new Uint8Array(), remoteAddress: "" })),
            (r) => HttpServerResponse.text(`count ${JSON.parse(r.body as string).n}`)
          )
        ),
        HttpRouter.post("/len", Effect.flatMap(HttpServerRequest.HttpServerRequest, (req) =>
          Effect.flatMap(req.text, (t) => HttpServerResponse.text(`len ${t.length}`)))),
        HttpRouter.get("/die", Effect.die("broken route"))
      )
      const web = yield* node.spawn(Meta.WebServer, { port: 0, handler: router as any, maxBodySize: 5 })
      const { port } = yield* node.call(web, new Meta.GetAddress())
      assert.strictEqual((yield* request(port, "/count")).body, "count 1")
      const died = yield* request(port, "/die")
      assert.strictEqual(died.status, 500)
      assert.match(died.body, /broken route/)
      assert.strictEqual((yield* request(port, "/count")).body, "count 2")
      assert.strictEqual((yield* request(port, "/len", { method: "POST", body: "abc" })).body, "len 3")
      assert.strictEqual((yield* request(port, "/len", { method: "POST", body: "abcdef" })).status, 413)
      const missing = yield* request(port, "/missing")
      assert.strictEqual(missing.status, 404)
      assert.match(missing.body, /no route for GET \/missing/)
    }))

  it.scopedLive("a bad spec or a taken port fails spawn with a message that says what to fix", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("web@localhost")
      const bad = yield* Effect.flip(node.spawn(Meta.WebServer, { port: 70000, handler: "api" }))
      assert.strictEqual(bad._tag, "InitFailed")
      assert.match(bad.message, /port must be an integer from 0 to 65535/)
      const noHandler = yield* Effect.flip(node.spawn(Meta.WebServer, { port: 0, handler: [] }))
      assert.match(noHandler.message, /empty pool/)
      const { port } = yield* startWeb(node)
      const taken = yield* Effect.flip(node.spawn(Meta.WebServer, { port, handler: "api" }))
      assert.match(taken.message, /could not listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/)
      assert.strictEqual(kernelOf(node).procs.size, 2)
    }))
})
