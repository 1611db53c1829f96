// Code of docs/guides/operations.md (type-checked by `npm run typecheck`).
import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Layer, Schema } from "effect"
import { Application, Code, Node, Process } from "rain"
import { Control } from "rain/Rpc"
import * as Telemetry from "rain/Telemetry"

class Work extends Schema.TaggedRequest<Work>()("Work", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: { n: Schema.Number }
}) {}

const Worker = Process.make({
  name: "Worker",
  version: 1,
  init: () => Effect.succeed(0),
  handleCall: (req: Work, _from, handled) => Effect.succeed(Process.reply(req.n * 2, handled + 1))
})

export const App = Application.make({
  name: "app",
  version: "1.0.0",
  root: [{ id: "worker", behaviour: Worker, args: undefined, name: "worker" }]
})

export const main = Effect.gen(function*() {
  const cookie = yield* Config.string("RAIN_COOKIE") // a missing variable fails with a ConfigError naming it
  yield* Node.run(
    "app@10.0.0.5",
    {
      applications: [App],
      tracing: true,
      log: { format: "json", level: "Info" },
      network: { cookie, port: 4370 }
    },
    (node) =>
      Effect.gen(function*() {
        yield* Telemetry.publish(node, { interval: "5 seconds" })
        const prometheus = yield* Layer.build(Telemetry.layerPrometheus({ host: "0.0.0.0", port: 9464 }))
        const { url } = yield* Effect.provide(Telemetry.Prometheus, prometheus)
        yield* Effect.log(`metrics at ${url}`)
      })
  )
}).pipe(
  Effect.provide(Telemetry.layerTracing({ serviceName: "app", otlp: { url: "http://otel-collector:4318/v1/traces" } }))
)

// the entry module: SIGINT/SIGTERM interrupt `main`, which stops the node cleanly
export const start = () => NodeRuntime.runMain(main)

export const busiest = Effect.scoped(Effect.gen(function*() {
  const admin = yield* Control.client({ host: "10.0.0.5", port: 4370, cookie: "secret", node: "app@10.0.0.5" })
  const info = yield* admin.Info()
  const { processes } = yield* admin.Processes({ sort: "mailbox", limit: 5 })
  const worst = processes[0]
  if (worst !== undefined && worst.mailbox > 10_000) {
    const detail = yield* admin.Process({ process: worst.pid, stateLimit: 200 })
    yield* Effect.log(`${worst.pid} (${worst.behaviour}) has ${worst.mailbox} queued; parent ${detail.parent}`)
  }
  return info.processCount
}))

export const release = (node: Node.NodeService, path: string) =>
  Effect.gen(function*() {
    const module = yield* Code.load(path) // a fresh copy of the module, read from disk now
    const next = module["Worker"] as Process.Any
    const report = yield* node.upgrade("Worker", next, { release: "1.0.1" }, { timeout: "10 seconds" })
    yield* Effect.log(`${report.behaviours.join(", ")}: ${report.upgraded.length} processes upgraded`)
  }).pipe(
    Effect.catchTag("UpgradeFailed", (e) => Effect.logError(`${e.message}; the old code still runs everywhere`))
  )

export const releaseApp = (node: Node.NodeService, path: string) =>
  Effect.gen(function*() {
    const module = yield* Code.load(path)
    const report = yield* node.upgradeApplication(module["App"] as Application.Spec)
    yield* Effect.log(`upgraded ${report.behaviours.length}, started ${report.started}, stopped ${report.stopped}`)
  })
