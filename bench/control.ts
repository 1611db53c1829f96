/**
 * The control plane beside the data plane, in the same run and the same OS process, over TCP on
 * 127.0.0.1 (so the figures compare the protocols, not the machines):
 *
 * - `control.ping.per_s`: sequential `Ping` rpcs from a `Control.client` (an `@effect/rpc`
 *   request/response per call, on the node's own listener).
 * - `control.node_call.per_s`: sequential `node.call`s from another node to a process on the
 *   same node (framed msgpack on the data plane), the baseline.
 *
 * Rounds alternate the two so that a machine busy at one moment weighs on both.
 *
 *   node --import tsx bench/control.ts [--quick]    # prints one JSON object
 */
import { Effect, Logger, LogLevel, Schema } from "effect"
import { Node, Process } from "../src/index.js"
import { Control } from "../src/Rpc/index.js"

const quick = process.argv.includes("--quick")
const perRound = quick ? 1_000 : 5_000
const rounds = quick ? 2 : 3
const COOKIE = "bench"

class Get extends Schema.TaggedRequest<Get>()("bench/Control/Get", { failure: Schema.Never, success: Schema.Number, payload: {} }) {}

const Counter = Process.make({
  name: "Counter",
  init: () => Effect.succeed(0),
  handleCall: (_: Get, _from, n: number) => Effect.succeed(Process.reply(n, n + 1))
})

const perSecond = <E>(n: number, once: Effect.Effect<unknown, E>) =>
  Effect.gen(function*() {
    const started = performance.now()
    for (let i = 0; i < n; i++) yield* once
    return (n * 1000) / (performance.now() - started)
  })

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!

const program = Effect.gen(function*() {
  const a = yield* Node.start("a@127.0.0.1", { network: { cookie: COOKIE, port: 0, messages: [Get] } })
  const b = yield* Node.start("b@127.0.0.1", {
    network: { cookie: COOKIE, port: 0, messages: [Get], routes: { "a@127.0.0.1": a.address } }
  })
  const counter = yield* a.spawn(Counter, undefined)
  const client = yield* Control.client({ host: "127.0.0.1", port: a.port, cookie: COOKIE })
  // Warm both paths (connection, JIT).
  yield* perSecond(200, client.Ping())
  yield* perSecond(200, b.call(counter, new Get()))
  const ping: Array<number> = []
  const call: Array<number> = []
  for (let r = 0; r < rounds; r++) {
    ping.push(yield* perSecond(perRound, client.Ping()))
    call.push(yield* perSecond(perRound, b.call(counter, new Get())))
  }
  // Verification: every call was handled.
  const handled = yield* b.call(counter, new Get())
  if (handled !== 200 + rounds * perRound) throw new Error(`verification failed: ${handled} calls handled`)
  return { ping: median(ping), call: median(call) }
})

Effect.runPromise(Effect.scoped(program).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).then(
  ({ call, ping }) => {
    process.stderr.write(`control ping ${Math.round(ping)}/s vs node.call ${Math.round(call)}/s on the data plane\n`)
    process.stdout.write(JSON.stringify({ ping, call }) + "\n")
    process.exit(0)
  },
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  }
)
