import { Socket } from "@effect/platform"
import { NodeSocket } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Queue } from "effect"
import type { Process as P } from "../../src/index.js"
import * as Meta from "../../src/Meta/index.js"
import { Node, Process } from "../../src/index.js"
import { eventually, request } from "./helpers.js"

/** Per-connection handler: upper-cases text, echoes bytes reversed, `close` closes with 4000; stops on close. */
const WsEcho = Process.make({
  name: "WsEcho",
  init: (connection: P.Pid) => Effect.succeed(connection),
  handleMessage: (event: Meta.WsEvent, connection, ctx) => {
    if (event._tag === "rain/Meta/WsClosed") return Effect.as(ctx.stop(), connection)
    if (event._tag !== "rain/Meta/WsMessage") return Effect.succeed(connection)
    if (event.data === "close") return Effect.as(ctx.send(connection, new Meta.WsClose({ code: 4000, reason: "bye" })), connection)
    if (event.data === "crash") return Effect.fail(new Error("ws handler crashed"))
    const data = typeof event.data === "string" ? event.data.toUpperCase() : Uint8Array.from(event.data).reverse()
    return Effect.as(ctx.send(connection, new Meta.WsSend({ data })), connection)
  }
})

const Api = Process.make({
  name: "Api",
  init: () => Effect.void,
  handleCall: (req: Meta.WebRequest, _from, state) => Effect.succeed(Process.reply(Meta.WebResponse.text(`http ${req.path}`), state))
})

/** A platform WebSocket client whose frames (and its close, as `closed <code>`) land in a queue. */
const client = (port: number) =>
  Effect.gen(function*() {
    const socket = yield* Socket.makeWebSocket(`ws://127.0.0.1:${port}/ws`, { closeCodeIsError: () => true })
    const inbox = yield* Queue.unbounded<string | Uint8Array>()
    yield* Effect.forkScoped(
      socket.runRaw((data) => Queue.offer(inbox, data)).pipe(
        Effect.catchAll((error) => Queue.offer(inbox, error.reason === "Close" ? `closed ${(error as Socket.SocketCloseError).code}` : `error ${error.message}`)),
        Effect.zipRight(Queue.offer(inbox, "ended"))
      )
    )
    const write = yield* socket.writer
    const take = Queue.take(inbox).pipe(Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => new Error("no frame within 3 s") }))
    return { write, take }
  }).pipe(Effect.provide(NodeSocket.layerWebSocketConstructor))

const start = (node: Node.NodeService) =>
  Effect.gen(function*() {
    yield* node.spawn(Api, undefined, { name: "api" })
    const web = yield* node.spawn(Meta.WebServer, { port: 0, handler: "api", webSocket: { path: "/ws", handler: WsEcho } })
    const { port } = yield* node.call(web, new Meta.GetAddress())
    return { web, port }
  })

const webInfo = (node: Node.NodeService, pid: P.Pid) =>
  Effect.map(node.info(pid), (info) => Option.getOrThrow(info).detail as Meta.WebServerInfo)

describe("Meta WebSocket", () => {
  it.scopedLive("each connection is a process: text and binary frames both ways; info shows it", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("ws@localhost")
      const { port, web } = yield* start(node)
      const ws = yield* client(port)
      yield* ws.write("hello")
      assert.strictEqual(yield* ws.take, "HELLO")
      yield* ws.write(new Uint8Array([1, 2, 3]))
      assert.deepStrictEqual([...(yield* ws.take) as Uint8Array], [3, 2, 1])
      const [connection] = (yield* webInfo(node, web)).webSockets
      const detail = Option.getOrThrow(yield* node.info(connection)).detail as Meta.WsConnectionInfo
      assert.strictEqual(detail.kind, "WebSocket")
      assert.strictEqual(detail.path, "/ws")
      assert.strictEqual(detail.messagesIn, 2)
      assert.strictEqual(detail.messagesOut, 2)
      // the same server still answers HTTP, and a plain GET on the WebSocket path says what it is
      assert.strictEqual((yield* request(port, "/other")).body, "http /other")
      const plainGet = yield* request(port, "/ws")
      assert.strictEqual(plainGet.status, 426)
      assert.match(plainGet.body, /WebSocket endpoint/)
      // the handler closes with a code: the client sees it, the connection process ends normally
      const exited = yield* Effect.fork(node.awaitExit(connection))
      yield* ws.write("close")
      assert.strictEqual(yield* ws.take, "closed 4000")
      assert.strictEqual((yield* Effect.flatten(exited.await))._tag, "normal")
      yield* eventually(Effect.map(webInfo(node, web), (d) => d.webSockets.length === 0), "connection forgotten")
    }))

  it.scopedLive("a closing client ends its process; a crashing handler closes the socket; the server lives", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("ws@localhost")
      const { port, web } = yield* start(node)
      yield* Effect.scoped(Effect.gen(function*() {
        const ws = yield* client(port)
        yield* ws.write("a")
        assert.strictEqual(yield* ws.take, "A")
      }))
      yield* eventually(Effect.map(webInfo(node, web), (d) => d.webSockets.length === 0), "client close ends the process")
      const ws = yield* client(port)
      yield* ws.write("crash")
      assert.match(String(yield* ws.take), /^closed 100[01]$/)
      const again = yield* client(port)
      yield* again.write("still")
      assert.strictEqual(yield* again.take, "STILL")
    }))

  it.scopedLive("stopping the web server closes its WebSocket connections and frees the port", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("ws@localhost")
      const { port, web } = yield* start(node)
      const ws = yield* client(port)
      yield* ws.write("x")
      assert.strictEqual(yield* ws.take, "X")
      yield* node.exit(web, Process.ExitReason.shutdown)
      assert.strictEqual((yield* node.awaitExit(web).pipe(Effect.timeout("3 seconds")))._tag, "shutdown")
      assert.strictEqual(yield* ws.take, "closed 1001")
      const again = yield* node.spawn(Meta.WebServer, { port, handler: "api" })
      assert.strictEqual((yield* request(port, "/back")).body, "http /back")
      yield* node.exit(again, Process.ExitReason.shutdown)
    }))
})
