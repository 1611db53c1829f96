/**
 * The web observer on a node with a small supervised tree: a ticker that keeps a counter
 * busy (so the charts move) and a worker that crashes now and then (so the tree shows
 * restarts). Prints the observer's URL (with its token) on one line and serves until Ctrl-C.
 * Kill and send are enabled here; an observer is read-only by default.
 *
 *   npx tsx examples/observer.ts            # PORT=4380 picks that port (default: a free one)
 */
import { Console, Effect } from "effect"
import type { Process as P } from "rain"
import { Application, Node, Process, Supervisor } from "rain"
import * as Observer from "rain/Observer"

/** Counts the ticks it gets. */
const Counter = Process.make({
  name: "Counter",
  init: () => Effect.succeed({ ticks: 0 }),
  handleMessage: (_tick: "tick", state) => Effect.succeed({ ticks: state.ticks + 1 })
})

/** Sends the counter ten ticks every 100 ms. */
const Ticker = Process.make({
  name: "Ticker",
  init: (_: void, ctx: P.Context<"go">) => Effect.as(ctx.sendAfter(ctx.self, "go", "100 millis"), 0),
  handleMessage: (_go: "go", rounds, ctx) =>
    Effect.gen(function*() {
      for (let i = 0; i < 10; i++) yield* ctx.send("counter", "tick")
      yield* ctx.sendAfter(ctx.self, "go", "100 millis")
      return rounds + 1
    })
})

/** Crashes about every 20 seconds; its supervisor restarts it. */
const Flaky = Process.make({
  name: "Flaky",
  init: (_: void, ctx: P.Context<"crash">) => Effect.as(ctx.sendAfter(ctx.self, "crash", "20 seconds"), "fine"),
  handleMessage: (_crash: "crash", _state: string) => Effect.fail("a planned crash, to show a restart")
})

const Demo = Application.make({
  name: "demo",
  version: "1.0.0",
  description: "a counter, a ticker and a flaky worker",
  root: Supervisor.oneForOne({ intensity: 10, period: "1 minute" }).pipe(
    Supervisor.child({ id: "counter", behaviour: Counter, args: undefined, name: "counter" }),
    Supervisor.child({ id: "ticker", behaviour: Ticker, args: undefined, name: "ticker" }),
    Supervisor.child({ id: "flaky", behaviour: Flaky, args: undefined, name: "flaky" })
  )
})

Node.runMain("observed@127.0.0.1", {
  network: { cookie: "observer-example", port: 0 },
  applications: [Demo]
}, (node) =>
  Effect.gen(function*() {
    const observer = yield* Observer.start(node, { port: Number(process.env["PORT"] ?? 0), readOnly: false })
    yield* Console.log(`observer of ${node.name}: open ${observer.url}  (Ctrl-C stops it)`)
  }))
