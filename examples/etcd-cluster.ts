/**
 * Three nodes that find each other through etcd: no routes, no embedded registrar. Starts a
 * throw-away etcd (Debian's `etcd-server`: `apt-get install -y etcd-server`) on a free port in
 * a temporary directory, or uses `ETCD=host:port`. Two nodes run the "worker" application; the
 * third resolves it, calls a worker by name on the node etcd names, shares a configuration
 * value, and sees a worker node leave. Exits 0.
 *
 *   npx tsx examples/etcd-cluster.ts
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { connect, createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Console, Effect, Fiber, Schedule, Stream } from "effect"
import { Application, Node, Process } from "rain"
import * as Etcd from "rain/Etcd"

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1")
    socket.once("connect", () => (socket.destroy(), resolve(true)))
    socket.once("error", () => resolve(false))
  })

/** etcd for the example: ETCD if set, else a fresh one in a temporary directory, stopped with the scope. */
const etcd = Effect.acquireRelease(
  Effect.promise(async () => {
    if (process.env.ETCD !== undefined) return { endpoint: process.env.ETCD, stop: () => {} }
    if (!existsSync("/usr/bin/etcd")) throw new Error("etcd is not installed: apt-get install -y etcd-server, or set ETCD=host:port")
    const [client, peer] = [await freePort(), await freePort()]
    const dir = mkdtempSync(join(tmpdir(), "rain-example-etcd-"))
    const child = spawn("/usr/bin/etcd", [
      "--data-dir", dir, "--name", "example",
      "--listen-client-urls", `http://127.0.0.1:${client}`, "--advertise-client-urls", `http://127.0.0.1:${client}`,
      "--listen-peer-urls", `http://127.0.0.1:${peer}`, "--initial-advertise-peer-urls", `http://127.0.0.1:${peer}`,
      "--initial-cluster", `example=http://127.0.0.1:${peer}`
    ], { stdio: "ignore" })
    // serving once it accepts connections
    for (let i = 0; i < 200 && !(await accepts(client)); i++) await new Promise((r) => setTimeout(r, 100))
    return { endpoint: `127.0.0.1:${client}`, stop: () => (child.kill("SIGKILL"), rmSync(dir, { recursive: true, force: true })) }
  }),
  (e) => Effect.sync(e.stop)
)

/** Answers "who are you?" with its node's name. */
const Worker = Process.make({
  name: "Worker",
  init: () => Effect.succeed(0),
  handleCall: (_req: "who", _from, n, ctx) => Effect.succeed(Process.reply(`worker on ${ctx.self.node}`, n + 1))
})

const WorkerApp = Application.make({
  name: "worker",
  version: "1.0.0",
  root: [{ id: "worker", behaviour: Worker, args: undefined, name: "worker" }]
})

const program = Effect.gen(function*() {
  const { endpoint } = yield* etcd
  const join = (name: string, applications: ReadonlyArray<Application.Spec>) =>
    Effect.gen(function*() {
      const registrar = Etcd.registrar({ endpoints: endpoint, cluster: "example", ttl: "2 seconds", connectTimeout: "20 seconds" })
      const node = yield* Node.start(name, { log: { level: "Error" }, network: { cookie: "example", registrar }, applications })
      return { node, registrar }
    })
  const front = yield* join("front@127.0.0.1", [])
  const left = yield* Effect.forkScoped(front.registrar.events.pipe(
    Stream.filter((e) => e._tag === "NodeLeft"),
    Stream.take(1),
    Stream.runForEach((e) => Console.log(`front saw ${e._tag === "NodeLeft" ? e.node : ""} leave`))
  ))
  yield* join("w1@127.0.0.1", [WorkerApp])
  const w2 = yield* Effect.forkScoped(Effect.scoped(Effect.zipRight(join("w2@127.0.0.1", [WorkerApp]), Effect.never)))

  // the applications' routes arrive through etcd's watch
  const routes = yield* front.registrar.resolveApplication("worker").pipe(
    Effect.filterOrFail((rs) => rs.length === 2, () => new Error("not yet")),
    Effect.retry(Schedule.spaced("50 millis")),
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the workers were not announced") })
  )
  yield* Console.log(`worker runs on ${routes.map((r) => `${r.node} (${r.version}, ${r.mode})`).join(", ")}`)
  for (const route of routes) {
    const answer = yield* front.node.call(Process.name("worker", route.node) as unknown as Process.Ref<never, "who">, "who" as never)
    yield* Console.log(`front asked ${route.node}: ${String(answer)}`)
  }
  yield* front.registrar.setConfig("greeting", { text: "hello" })
  yield* Console.log(`configuration: ${JSON.stringify(Object.fromEntries(yield* front.registrar.config))}`)

  // w2 stops: its lease is revoked, front sees it leave
  yield* Fiber.interrupt(w2)
  yield* Fiber.join(left).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("w2 was not seen to leave") }))
})

Effect.runPromise(Effect.scoped(program)).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
