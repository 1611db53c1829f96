/**
 * Telemetry: a small supervision tree under load, its figures served to Prometheus.
 *
 *   npx tsx examples/telemetry.ts          (METRICS_PORT=0 for any free port)
 *   curl http://127.0.0.1:9464/metrics
 *
 * A supervisor runs three workers that answer calls and one that crashes now and then
 * (so that restarts show up); a load fiber calls them all the time. `Telemetry.publish`
 * puts the node's counters into `effect/Metric` every second and `layerPrometheus` serves
 * them. It serves until stopped (Ctrl-C).
 */
import { Console, Effect, Layer, Schedule, Schema } from "effect"
import { Node, Process, Supervisor } from "rain"
import * as Telemetry from "rain/Telemetry"

class Work extends Schema.TaggedRequest<Work>()("Work", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: { n: Schema.Number }
}) {}

/** Answers `n * 2`; the flaky one crashes on every 50th request (its supervisor restarts it). */
const Worker = Process.make({
  name: "Worker",
  init: (flaky: boolean) => Effect.succeed({ flaky, handled: 0 }),
  handleCall: (request: Work, _from, state) =>
    state.flaky && (state.handled + 1) % 50 === 0
      ? Effect.die(new Error(`crashed on request ${request.n}, on purpose`))
      : Effect.succeed(Process.reply(request.n * 2, { ...state, handled: state.handled + 1 }))
})

const tree = Supervisor.oneForOne({ intensity: 100, period: "10 seconds" }).pipe(
  Supervisor.child({ id: "worker-1", behaviour: Worker, args: false, name: "worker-1" }),
  Supervisor.child({ id: "worker-2", behaviour: Worker, args: false, name: "worker-2" }),
  Supervisor.child({ id: "worker-3", behaviour: Worker, args: false, name: "worker-3" }),
  Supervisor.child({ id: "flaky", behaviour: Worker, args: true, name: "flaky" })
)

const port = Number(process.env["METRICS_PORT"] ?? 9464)

Node.runMain("telemetry@localhost", { log: { level: "Warning", crashReports: false } }, (node) =>
  Effect.gen(function*() {
    yield* Supervisor.start(node, tree, { name: "workers" })
    yield* Telemetry.publish(node, { interval: "1 second" })
    // Built in the node's scope: the endpoint lives as long as the node.
    const context = yield* Layer.build(Telemetry.layerPrometheus({ port }))
    const { url } = yield* Effect.provide(Telemetry.Prometheus, context)
    yield* Console.log(`Prometheus metrics at ${url}`)
    // The load: each worker is called in turn, forever (a crashed call fails and is retried next round).
    let n = 0
    yield* Effect.forEach(["worker-1", "worker-2", "worker-3", "flaky"], (name) =>
      node.call(name, new Work({ n: n++ }), "1 second").pipe(Effect.ignore), { discard: true }).pipe(
        Effect.repeat(Schedule.spaced("5 millis")),
        Effect.forkScoped
      )
  }))
