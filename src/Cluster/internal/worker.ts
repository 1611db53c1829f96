/**
 * The entry of a cluster thread: loads the cluster's module at once, then (told which node
 * to be, `assign`) starts that node with what the module exports, on the worker transport
 * (and TCP when asked), meshes with the other threads when the main thread says so, and
 * stops the node when told to. A spare thread is one that has loaded and waits for its
 * `assign`, so that a restart costs a node start rather than a thread start.
 *
 * A failure before the node is up is reported (`failed`) and ends the thread; the main
 * thread decides what follows (a start error, or a restart).
 *
 * @internal
 */
import { Cause, Duration, Effect, Exit, Scope } from "effect"
import { parentPort, workerData } from "node:worker_threads"
import * as Node from "../../Node/index.js"
import * as Transport from "../../Transport/index.js"
import type { FromWorker, ThreadData, ToWorker, WorkerData } from "./protocol.js"
import { load } from "./spec.js"
import { routesFor } from "./routes.js"

const thread = workerData as ThreadData
const port = parentPort!
// Started now: a spare thread is loaded by the time it is needed.
const loading = load(thread.module)
const tell = (m: FromWorker) => port.postMessage(m)

const fail = (detail: string) => {
  tell({ t: "failed", detail })
  // Let the message leave before the thread ends.
  setImmediate(() => process.exit(1))
}

const members = new Set<string>()
/** What the main thread said before the node was up (a stop during start-up). */
let handler: (m: ToWorker) => void = (m) => {
  if (m.t === "stop") process.exit(0)
  else if (m.t === "assign") {
    const data = m.data
    main(data).catch((e) => fail(`thread of ${data.node} crashed while starting: ${String(e)}`))
  }
}
// Listening from the start also keeps the thread alive while the node starts (the broker's port is unref'd).
port.on("message", (m: ToWorker) => handler(m))

const main = async (data: WorkerData) => {
  const loaded = await loading
  if ("error" in loaded) return fail(loaded.error)
  const spec = loaded.spec
  const scope = Effect.runSync(Scope.make())
  const transport = Transport.worker({
    broker: data.broker,
    address: `thread:${data.node}`,
    fallback: data.tcp === undefined ? undefined : Transport.tcp({ host: data.tcp.host, port: data.tcp.port })
  })
  const opts = data.nodeOptions
  const started = await Effect.runPromiseExit(
    Node.start(data.node, {
      ...opts,
      creation: data.creation,
      applications: spec.applications,
      network: {
        cookie: data.cookie,
        transport,
        routes: routesFor(data.broker, data.routes, members),
        allowSpawn: spec.allowSpawn,
        allowApplications: spec.allowApplications,
        messages: spec.messages,
        compression: data.compression,
        ...(data.tickMillis === undefined ? {} : { tickTime: Duration.millis(data.tickMillis) }),
        ...(data.connectTimeoutMillis === undefined ? {} : { connectTimeout: Duration.millis(data.connectTimeoutMillis) })
      }
    }).pipe(Scope.extend(scope))
  )
  if (Exit.isFailure(started)) {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    return fail(`node ${data.node} did not start: ${Cause.pretty(started.cause)}`)
  }
  const node = started.value
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    await Effect.runPromise(Scope.close(scope, Exit.void))
    tell({ t: "stopped" })
  }
  handler = (m) => {
    if (m.t === "stop") void stop()
    else if (m.t === "mesh") {
      for (const n of m.nodes) members.add(n)
      // A node that cannot be reached now (it is restarting) connects later, on first use.
      void Promise.all(m.nodes.map((n) => Effect.runPromise(Effect.either(node.connect(n))))).then(() =>
        tell({ t: "ready" })
      )
    }
  }
  // The node stopped by itself (e.g. a permanent application ended): the thread ends with it.
  void Effect.runPromise(node.wait).then(() => {
    if (!stopping) fail(`node ${data.node} stopped`)
  })
  if (spec.main !== undefined) {
    const program = spec.main(node)
    void Effect.runPromiseExit(Scope.extend(program, scope)).then((exit) => {
      if (Exit.isFailure(exit) && !stopping) fail(`main of ${data.node} failed: ${Cause.pretty(exit.cause)}`)
    })
  }
  tell({ t: "listening", address: node.address, port: node.port })
}

