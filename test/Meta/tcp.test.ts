import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Option, Queue } from "effect"
import * as Net from "node:net"
import type { Process as P } from "../../src/index.js"
import * as Meta from "../../src/Meta/index.js"
import { Node, Process } from "../../src/index.js"
import { accepts, eventually } from "./helpers.js"

/** Per-connection handler: echoes each frame upper-cased; `crash` crashes it; stops on close. */
const Echo = Process.make({
  name: "Echo",
  init: (connection: P.Pid) => Effect.succeed(connection),
  handleMessage: (event: Meta.TcpEvent, connection, ctx) => {
    switch (event._tag) {
      case "rain/Meta/TcpData":
        if (event.text === "crash") return Effect.fail(new Error("echo crashed"))
        if (event.text === "bye") return Effect.as(ctx.send(connection, new Meta.TcpClose()), connection)
        return Effect.as(ctx.send(connection, event.text.toUpperCase()), connection)
      case "rain/Meta/TcpClosed":
        return Effect.as(ctx.stop(), connection)
      default:
        return Effect.succeed(connection)
    }
  }
})

/** Puts every event into a queue the test reads. */
const Collector = Process.make({
  name: "Collector",
  init: (queue: Queue.Queue<unknown>) => Effect.succeed(queue),
  handleMessage: (event: unknown, queue) => Effect.as(Queue.offer(queue, event), queue)
})

/** Takes one event per gate opening: its mailbox fills while the gate is closed. */
const Slow = Process.make({
  name: "Slow",
  options: { mailboxSize: 4 },
  init: (args: { readonly gate: Deferred.Deferred<void>; readonly out: Queue.Queue<string> }) => Effect.succeed(args),
  handleMessage: (event: Meta.TcpEvent, state) =>
    event._tag === "rain/Meta/TcpData"
      ? Effect.zipRight(Deferred.await(state.gate), Effect.as(Queue.offer(state.out, event.text), state))
      : Effect.succeed(state)
})

/** A plain node:net client that collects what it reads. */
const connect = (port: number) =>
  Effect.acquireRelease(
    Effect.async<{ socket: Net.Socket; received: () => string; closed: () => boolean }>((resume) => {
      const socket = Net.createConnection({ host: "127.0.0.1", port })
      let data = ""
      let closed = false
      socket.on("data", (chunk) => (data += chunk.toString()))
      socket.on("close", () => (closed = true))
      socket.on("error", () => {})
      socket.once("connect", () => resume(Effect.succeed({ socket, received: () => data, closed: () => closed })))
    }),
    ({ socket }) => Effect.sync(() => socket.destroy())
  )

const spawnServer = (node: Node.NodeService, spec: Omit<Meta.TcpServerSpec, "port"> & { port?: number }) =>
  Effect.gen(function*() {
    const server = yield* node.spawn(Meta.TcpServer, { port: 0, ...spec })
    const { port } = yield* node.call(server, new Meta.GetAddress())
    return { server, port }
  })

const detail = <A>(node: Node.NodeService, pid: P.Pid) =>
  Effect.map(node.info(pid), (info) => (Option.isSome(info) ? info.value.detail as A : undefined))

describe("Meta.TcpServer", () => {
  it.scopedLive("each connection is a process; line frames in, framed writes out; info shows them", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("tcp@localhost")
      const { port, server } = yield* spawnServer(node, { handler: Echo, framing: "line" })
      const client = yield* connect(port)
      client.socket.write("hello\nwor")
      client.socket.write("ld\r\n")
      yield* eventually(Effect.sync(() => client.received() === "HELLO\nWORLD\n"), "two echoed lines")
      const info = (yield* detail<Meta.TcpServerInfo>(node, server))!
      assert.strictEqual(info.accepted, 1)
      assert.strictEqual(info.connections.length, 1)
      const connection = (yield* detail<Meta.TcpConnectionInfo>(node, info.connections[0]))!
      assert.strictEqual(connection.kind, "TcpConnection")
      assert.strictEqual(connection.localAddress, `127.0.0.1:${port}`)
      assert.strictEqual(connection.bytesIn, 13)
      assert.strictEqual(connection.bytesOut, 12)
      // the handler closes: the client sees the close, the connection process ends normally
      const exited = yield* Effect.fork(node.awaitExit(info.connections[0]))
      client.socket.write("bye\n")
      yield* eventually(Effect.sync(client.closed), "closed by the handler")
      assert.strictEqual((yield* exited.await.pipe(Effect.flatten))._tag, "normal")
      yield* eventually(Effect.map(detail<Meta.TcpServerInfo>(node, server), (d) => d!.connections.length === 0), "forgotten")
    }))

  it.scopedLive("length-prefixed frames split across chunks and raw chunks reach a shared handler in order", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("tcp@localhost")
      const events = yield* Queue.unbounded<unknown>()
      const collector = yield* node.spawn(Collector, events)
      const { port } = yield* spawnServer(node, { handler: collector, framing: { lengthPrefix: 2 } })
      const client = yield* connect(port)
      const connected = (yield* Queue.take(events)) as Meta.TcpConnected
      assert.strictEqual(connected._tag, "rain/Meta/TcpConnected")
      client.socket.write(Buffer.from([0, 3, 97, 98]))
      yield* Effect.sleep("20 millis")
      client.socket.write(Buffer.from([99, 0, 0, 0, 1, 122]))
      const frames: Array<string> = []
      for (let i = 0; i < 3; i++) frames.push(((yield* Queue.take(events)) as Meta.TcpData).text)
      assert.deepStrictEqual(frames, ["abc", "", "z"])
      // writes get the prefix
      const reply = yield* Effect.async<Buffer>((resume) => {
        client.socket.once("data", (chunk) => resume(Effect.succeed(chunk)))
      }).pipe(Effect.fork)
      yield* node.send(connected.connection, new Meta.TcpSend({ data: "ok" }))
      const value = yield* Effect.timeout(Effect.flatten(reply.await), "2 seconds")
      assert.deepStrictEqual([...value], [0, 2, 111, 107])
      client.socket.end()
      const closed = (yield* Queue.take(events)) as Meta.TcpClosed
      assert.strictEqual(closed._tag, "rain/Meta/TcpClosed")
    }))

  it.scopedLive("a full handler mailbox pauses reading (TCP pushes back) and resumes when it drains", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("tcp@localhost")
      const gate = yield* Deferred.make<void>()
      const out = yield* Queue.unbounded<string>()
      const slow = yield* node.spawn(Slow, { gate, out })
      const { port, server } = yield* spawnServer(node, { handler: slow, framing: "line" })
      const client = yield* connect(port)
      const line = "x".repeat(1000)
      const total = 2000 // 2 MB
      let payload = ""
      for (let i = 0; i < total; i++) payload += `${i}${line}\n`
      client.socket.write(payload)
      yield* eventually(
        Effect.flatMap(detail<Meta.TcpServerInfo>(node, server), (d) =>
          d!.connections.length === 1
            ? Effect.map(detail<Meta.TcpConnectionInfo>(node, d!.connections[0]), (c) => c?.paused === true)
            : Effect.succeed(false)),
        "reading paused"
      )
      yield* Effect.sleep("200 millis")
      const connection = (yield* detail<Meta.TcpServerInfo>(node, server))!.connections[0]
      const paused = (yield* detail<Meta.TcpConnectionInfo>(node, connection))!
      assert.isTrue(paused.paused)
      // only what one read brings in waits in the connection: the rest stays in the kernel or the client
      assert.isBelow(paused.bytesIn, 512 * 1024)
      assert.strictEqual(yield* Queue.size(out), 0)
      const mailbox = Option.getOrThrow(yield* node.info(slow)).mailbox.main
      assert.isAtMost(mailbox, 4)
      yield* Deferred.succeed(gate, undefined)
      const got = yield* Effect.forEach(Array.from({ length: total }), () => Queue.take(out)).pipe(
        Effect.timeout("20 seconds")
      )
      for (let i = 0; i < total; i++) if (got[i] !== `${i}${line}`) assert.fail(`frame ${i} out of order or corrupt`)
      assert.isFalse((yield* detail<Meta.TcpConnectionInfo>(node, connection))!.paused)
    }), 30_000)

  it.scopedLive("a crashing handler closes its connection; the server keeps accepting", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("tcp@localhost")
      const { port, server } = yield* spawnServer(node, { handler: Echo, framing: "line" })
      const first = yield* connect(port)
      first.socket.write("crash\n")
      yield* eventually(Effect.sync(first.closed), "crashed connection closed")
      const second = yield* connect(port)
      second.socket.write("still\n")
      yield* eventually(Effect.sync(() => second.received() === "STILL\n"), "second connection served")
      assert.isTrue(Option.isSome(yield* node.info(server)))
    }))

  it.scopedLive("a frame over maxFrameSize closes the connection with a reason", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("tcp@localhost")
      const events = yield* Queue.unbounded<unknown>()
      const collector = yield* node.spawn(Collector, events)
      const { port } = yield* spawnServer(node, { handler: collector, framing: "line", maxFrameSize: 8 })
      const client = yield* connect(port)
      client.socket.write("short\n0123456789\n")
      yield* Queue.take(events)
      assert.strictEqual(((yield* Queue.take(events)) as Meta.TcpData).text, "short")
      const closed = (yield* Queue.take(events)) as Meta.TcpClosed
      assert.match(closed.reason, /frame of 10 bytes is over maxFrameSize \(8 bytes\)/)
      yield* eventually(Effect.sync(client.closed), "client sees the close")
    }))

  it.scopedLive("stopping or killing the server closes its connections and frees the port", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("tcp@localhost")
      let { port, server } = yield* spawnServer(node, { handler: Echo, framing: "line" })
      for (const reason of [Process.ExitReason.shutdown, Process.ExitReason.kill]) {
        const client = yield* connect(port)
        client.socket.write("a\n")
        yield* eventually(Effect.sync(() => client.received() === "A\n"), "served")
        yield* node.exit(server, reason)
        yield* node.awaitExit(server)
        yield* eventually(Effect.sync(client.closed), "connection closed with its server")
        yield* eventually(Effect.map(accepts(port), (up) => !up), "port released")
        server = yield* node.spawn(Meta.TcpServer, { port, handler: Echo, framing: "line" })
      }
      const last = yield* connect(port)
      last.socket.write("b\n")
      yield* eventually(Effect.sync(() => last.received() === "B\n"), "served after restarts")
      port = 0
    }))

  it.scopedLive("TcpClient connects in init, exchanges frames with a TcpServer, fails spawn when nobody listens", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("tcp@localhost")
      const { port } = yield* spawnServer(node, { handler: Echo, framing: { lengthPrefix: 4 } })
      const events = yield* Queue.unbounded<unknown>()
      const collector = yield* node.spawn(Collector, events)
      const conn = yield* node.spawn(Meta.TcpClient, {
        host: "127.0.0.1",
        port,
        handler: collector,
        framing: { lengthPrefix: 4 }
      })
      assert.strictEqual(((yield* Queue.take(events)) as Meta.TcpConnected)._tag, "rain/Meta/TcpConnected")
      yield* node.send(conn, new Meta.TcpSend({ data: "ping" }))
      assert.strictEqual(((yield* Queue.take(events)) as Meta.TcpData).text, "PING")
      const exited = yield* Effect.fork(node.awaitExit(conn))
      yield* node.send(conn, new Meta.TcpSend({ data: "bye" }))
      assert.strictEqual(((yield* Queue.take(events)) as Meta.TcpClosed)._tag, "rain/Meta/TcpClosed")
      assert.strictEqual((yield* exited.await.pipe(Effect.flatten))._tag, "normal")
      // nobody listens on a port that was just released
      const probe = yield* spawnServer(node, { handler: Echo })
      yield* node.exit(probe.server, Process.ExitReason.shutdown)
      yield* node.awaitExit(probe.server)
      const refused = yield* Effect.flip(node.spawn(Meta.TcpClient, { host: "127.0.0.1", port: probe.port, handler: collector }))
      assert.match(refused.message, /Could not connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/)
    }))

  it.scopedLive("a bad spec fails spawn with what to fix", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("tcp@localhost")
      const framing = yield* Effect.flip(node.spawn(Meta.TcpServer, { port: 0, handler: Echo, framing: "words" as any }))
      assert.match(framing.message, /framing must be "raw", "line" or \{ lengthPrefix: 1 \| 2 \| 4 \}/)
      const port = yield* Effect.flip(node.spawn(Meta.TcpServer, { port: -1, handler: Echo }))
      assert.match(port.message, /port must be an integer/)
    }))
})
