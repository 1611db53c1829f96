/**
 * Throughput of the wire layer alone: small frames through a TCP session pair in one
 * process (node codec encode, compress check, coalesced write, frame parse, decode, handler call).
 *
 *   npx tsx bench/wire.ts [--quick]
 *
 * Prints one JSON line per figure on stdout, a human line per run on stderr.
 */
import { Deferred, Effect, Either, Logger, LogLevel } from "effect"
import * as Message from "../src/Message/index.js"
import { Pid } from "../src/Process/Pid.js"
import * as Transport from "../src/Transport/index.js"

const quick = process.argv.includes("--quick")
const runs = quick ? 1 : 3
const total = quick ? 200_000 : 1_000_000
const batch = 2_000
const cookie = "bench"

const pid = new Pid({ node: "a@localhost", id: 1, creation: 1 })
const frames: Record<string, (i: number) => unknown> = {
  "wire.session.msgs_per_s": (i) => ({ t: "send", to: 7, msg: [i, "ping"] }),
  "wire.session.pid_msgs_per_s": (i) => ({ t: "send", to: pid, msg: [i, "ping"] })
}

const once = (make: (i: number) => unknown) =>
  Effect.scoped(Effect.gen(function*() {
    const transport = Transport.tcp()
    const sessions = yield* Deferred.make<Transport.Session>()
    const listener = yield* Transport.serve(transport, { name: "b@localhost", cookie }, (s) => Deferred.succeed(sessions, s))
    const client = yield* Transport.connectScoped(transport, listener.address, { name: "a@localhost", cookie })
    const server = yield* Deferred.await(sessions)
    const done = yield* Deferred.make<number>()
    let received = 0
    server.setHandler({
      onFrame: (bytes) => {
        Message.decode(bytes)
        if (++received === total) Deferred.unsafeDone(done, Effect.succeed(performance.now()))
      }
    })
    const start = performance.now()
    // Batches of sends per tick, as a node draining many senders would produce.
    let sent = 0
    const pump = () => {
      const end = Math.min(sent + batch, total)
      for (; sent < end; sent++) client.send(Either.getOrThrow(Message.encode(make(sent))))
      if (sent < total) setImmediate(pump)
    }
    pump()
    const finished = yield* Deferred.await(done)
    return total / ((finished - start) / 1000)
  }))

const main = Effect.gen(function*() {
  for (const [name, make] of Object.entries(frames)) {
    const values: Array<number> = []
    for (let r = 0; r < runs; r++) {
      const v = yield* once(make)
      values.push(v)
      process.stderr.write(`${name} run ${r + 1}: ${Math.round(v).toLocaleString()} msgs/s\n`)
    }
    values.sort((a, b) => a - b)
    const median = Math.round(values[Math.floor(values.length / 2)])
    console.log(JSON.stringify({
      bench: name,
      value: median,
      unit: "msgs/s",
      runs,
      min: Math.round(values[0]),
      max: Math.round(values[values.length - 1])
    }))
  }
})

Effect.runPromise(main.pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).catch((e) => {
  console.error(e)
  process.exit(1)
})
