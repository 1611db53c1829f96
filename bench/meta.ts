/**
 * Meta process workloads, each beside its baselines in the same run: the server runs in
 * this process, the load comes from `bench/load.ts` in another OS process (100 keep-alive
 * HTTP connections; 100 TCP connections with 16 messages each in flight).
 *
 * - `web.req_per_s`: `Meta.WebServer`, each request a `WebRequest` call to a handler process.
 * - `baseline.platform.web.req_per_s`: a bare `@effect/platform` `HttpServer` (`NodeHttpServer`).
 * - `baseline.node.web.req_per_s`: plain `node:http`.
 * - `tcp.echo.msgs_per_s`: `Meta.TcpServer`, line framing, an echo process per connection.
 * - `baseline.node.tcp.echo.msgs_per_s`: a plain `node:net` server writing back what it reads.
 */
import { HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import type { Scope } from "effect"
import { Effect, Logger, LogLevel } from "effect"
import { spawn } from "node:child_process"
import * as Http from "node:http"
import * as Net from "node:net"
import { fileURLToPath } from "node:url"
import type { Process as P } from "../src/index.js"
import * as Meta from "../src/Meta/index.js"
import { Node, Process } from "../src/index.js"
import type { Size } from "./workloads.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const CONNECTIONS = 100
const WINDOW = 16

const check = (ok: boolean, what: string) => {
  if (!ok) throw new Error(`verification failed: ${what}`)
}

/** Runs the load client against `port`; its figure per second after checking it saw no bad answer. */
const load = (mode: "http" | "echo", port: number, quick: boolean): Promise<number> =>
  new Promise((resolve, reject) => {
    const args = [mode, String(port), String(CONNECTIONS), quick ? "500" : "1000", quick ? "2000" : "5000", String(WINDOW)]
    const child = spawn(process.execPath, ["--import", "tsx", `${root}bench/load.ts`, ...args], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    child.stdout.on("data", (chunk) => (out += chunk))
    child.stderr.on("data", (chunk) => (err += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.on("exit", (code) => {
      clearTimeout(timer)
      if (code !== 0) return reject(new Error(`load client exited ${code}: ${err.trim()}`))
      const { bad, done, seconds } = JSON.parse(out.trim().split("\n").pop()!)
      try {
        check(bad === 0, `${bad} wrong answers`)
        check(done > 0, "no answer at all")
        resolve(done / seconds)
      } catch (error) {
        reject(error)
      }
    })
  })

const quiet = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(effect).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)))

// ---------------------------------------------------------------------------
// web

const ok = Meta.WebResponse.text("ok")

const Handler = Process.make({
  name: "Handler",
  init: () => Effect.succeed(0),
  handleCall: (_req: Meta.WebRequest, _from, n: number) => Effect.succeed(Process.reply(ok, n + 1))
})

const web = ({ quick }: Size) =>
  quiet(Effect.gen(function*() {
    const node = yield* Node.start("bench@localhost")
    const handler = yield* node.spawn(Handler, undefined)
    const server = yield* node.spawn(Meta.WebServer, { port: 0, handler })
    const { port } = yield* node.call(server, new Meta.GetAddress())
    return yield* Effect.promise(() => load("http", port, quick))
  }))

const platformWeb = ({ quick }: Size) =>
  quiet(Effect.gen(function*() {
    const server = yield* NodeHttpServer.make(() => Http.createServer(), { host: "127.0.0.1", port: 0 })
    yield* server.serve(HttpServerResponse.text("ok"))
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    return yield* Effect.promise(() => load("http", port, quick))
  }))

const nodeWeb = ({ quick }: Size) =>
  new Promise<number>((resolve, reject) => {
    const server = Http.createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" })
      res.end("ok")
    })
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      load("http", port, quick).then(resolve, reject).finally(() => server.close())
    })
  })

// ---------------------------------------------------------------------------
// tcp echo

const Echo = Process.make({
  name: "Echo",
  init: (connection: P.Pid) => Effect.succeed(connection),
  handleMessage: (event: Meta.TcpEvent, connection, ctx) =>
    event._tag === "rain/Meta/TcpData"
      ? Effect.as(ctx.send(connection, event.data), connection)
      : event._tag === "rain/Meta/TcpClosed"
      ? Effect.as(ctx.stop(), connection)
      : Effect.succeed(connection)
})

const tcpEcho = ({ quick }: Size) =>
  quiet(Effect.gen(function*() {
    const node = yield* Node.start("bench@localhost")
    const server = yield* node.spawn(Meta.TcpServer, { port: 0, handler: Echo, framing: "line" })
    const { port } = yield* node.call(server, new Meta.GetAddress())
    return yield* Effect.promise(() => load("echo", port, quick))
  }))

const nodeTcpEcho = ({ quick }: Size) =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer((socket) => {
      socket.setNoDelay(true)
      socket.on("data", (chunk) => socket.write(chunk))
      socket.on("error", () => {})
    })
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      load("echo", port, quick).then(resolve, reject).finally(() => server.close())
    })
  })

/** Name, unit, run (as `workloads`; run by `bench/run.ts` and `bench/child.ts`, not compared with Erlang). */
export const metaWorkloads: ReadonlyArray<readonly [string, string, (size: Size) => Promise<number>]> = [
  ["web.req_per_s", "req/s", web],
  ["baseline.platform.web.req_per_s", "req/s", platformWeb],
  ["baseline.node.web.req_per_s", "req/s", nodeWeb],
  ["tcp.echo.msgs_per_s", "msgs/s", tcpEcho],
  ["baseline.node.tcp.echo.msgs_per_s", "msgs/s", nodeTcpEcho]
]
