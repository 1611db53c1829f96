/**
 * A TCP echo server and a client, both meta processes, in one node. The server spawns an
 * `Echo` process per connection (line framing); a `Client` process connects with
 * `Meta.TcpClient`, sends three lines, prints the echoes and stops the node: the program
 * runs to completion and exits 0.
 *
 *   npx tsx examples/tcp-echo.ts
 */
import { Console, Effect } from "effect"
import { Node, Process } from "rain"
import * as Meta from "rain/Meta"

/** One per connection: writes back each line, upper-cased; ends when the connection closes. */
const Echo = Process.make({
  name: "Echo",
  init: (connection: Process.Pid) => Effect.succeed(connection),
  handleMessage: (event: Meta.TcpEvent, connection, ctx) => {
    switch (event._tag) {
      case "rain/Meta/TcpData":
        return Effect.as(ctx.send(connection, new Meta.TcpSend({ data: event.text.toUpperCase() })), connection)
      case "rain/Meta/TcpClosed":
        return Effect.as(ctx.stop(), connection)
      default:
        return Effect.succeed(connection)
    }
  }
})

const lines = ["hello", "from", "rain"]

/** Connects, sends the lines, prints what comes back, then stops the node. */
const Client = Process.make({
  name: "Client",
  init: (port: number, ctx) =>
    Effect.gen(function*() {
      const connection = yield* ctx.spawnLink(Meta.TcpClient, { host: "127.0.0.1", port, handler: ctx.self, framing: "line" })
      for (const line of lines) yield* ctx.send(connection, new Meta.TcpSend({ data: line }))
      return { connection, received: 0 }
    }),
  handleMessage: (event: Meta.TcpEvent, state, ctx) =>
    Effect.gen(function*() {
      if (event._tag === "rain/Meta/TcpClosed") yield* ctx.stop()
      if (event._tag !== "rain/Meta/TcpData") return state
      yield* Console.log(`echo: ${event.text}`)
      if (++state.received === lines.length) yield* ctx.send(state.connection, new Meta.TcpClose())
      return state
    })
})

Node.runMain("echo@localhost", {}, (node) =>
  Effect.gen(function*() {
    const server = yield* node.spawn(Meta.TcpServer, { port: 0, handler: Echo, framing: "line" })
    const address = yield* node.call(server, new Meta.GetAddress())
    yield* Console.log(`echo server on ${address.toString()}`)
    const client = yield* node.spawn(Client, address.port)
    // the client stops when its connection has closed
    yield* node.awaitExit(client)
    yield* node.stop
  }))
