/**
 * Event fan-out, each beside a direct-send baseline in the same run:
 *
 * - `event.fanout.local.msgs_per_s`: a producer publishes to an event with 10,000 monitoring
 *   subscribers on its node; deliveries (publications x subscribers) per second until every
 *   subscriber has every publication.
 * - `event.fanout.local.direct_msgs_per_s`: the same producer sends each message to the same
 *   10,000 processes itself, one `ctx.send` per subscriber.
 * - `event.fanout.remote.msgs_per_s`: the 10,000 subscribers sit on a node in another OS
 *   process (this file run as `peer`), so each publication crosses the wire once and that
 *   node's event relay fans it out.
 * - `event.fanout.remote.direct_msgs_per_s`: the producer sends to each of the 10,000 remote
 *   processes itself (one message on the wire per subscriber).
 *
 *   node --import tsx bench/events.ts [--quick]    # prints one JSON object with the four figures
 *   node --import tsx bench/events.ts peer         # the peer node (started by the above)
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { Scope } from "effect"
import { Deferred, Effect, Logger, LogLevel } from "effect"
import type { Process as P } from "../src/index.js"
import { Event, Node, Process } from "../src/index.js"

const SUBSCRIBERS = 10_000
const cookie = "bench-cookie"
const PEER = "peer@127.0.0.1"

const check = (ok: boolean, what: string) => {
  if (!ok) throw new Error(`verification failed: ${what}`)
}

/** Counts "done" messages; completes `all` at `expected`. */
const Collector = Process.make({
  name: "Collector",
  init: (args: { readonly expected: number; readonly all?: Deferred.Deferred<void>; readonly notify?: P.Pid }) =>
    Effect.succeed({ ...args, seen: 0 }),
  handleMessage: (_done: "done", state, ctx) => {
    state.seen++
    if (state.seen !== state.expected) return Effect.succeed(state)
    return state.all !== undefined
      ? Effect.as(Deferred.succeed(state.all, undefined), state)
      : Effect.as(ctx.send(state.notify!, "done"), state)
  }
})

/** A subscriber (of `event`, or a plain sink without one) that tells `collector` once it has `target` messages. */
const Counter = Process.make({
  name: "Counter",
  init: (args: { readonly event?: Event.EventName; readonly target: number; readonly collector: P.Pid }, ctx) =>
    Effect.as(args.event === undefined ? Effect.void : Effect.orDie(Event.monitor(ctx, args.event)), {
      ...args,
      count: 0
    }),
  handleMessage: (_msg: unknown, state, ctx) => {
    state.count++
    return state.count === state.target ? Effect.as(ctx.send(state.collector, "done"), state) : Effect.succeed(state)
  }
})

/** Registers "ticks"; on `{ publish }` publishes that many numbers, on `{ direct, to }` sends them to each of `to`. */
const Producer = Process.make({
  name: "Producer",
  init: (_: void, ctx) => Effect.orDie(Event.register(ctx, "ticks")),
  handleMessage: (msg: { readonly publish: number } | { readonly direct: number; readonly to: ReadonlyArray<P.Pid> }, token, ctx) =>
    Effect.gen(function*() {
      if ("publish" in msg) {
        for (let i = 0; i < msg.publish; i++) yield* Effect.orDie(Event.publish(ctx, token, i))
      } else {
        for (let i = 0; i < msg.direct; i++) {
          for (const pid of msg.to) yield* Effect.orDie(ctx.send(pid, i))
        }
      }
      return token
    })
})

/** On the peer: spawns `count` counters (subscribed to `event`, or plain sinks) and a collector that tells `reply`. */
const Fans = Process.make({
  name: "Fans",
  init: () => Effect.void,
  handleMessage: (
    msg: { readonly event?: Event.EventName; readonly count: number; readonly target: number; readonly reply: P.Pid },
    _,
    ctx
  ) =>
    Effect.gen(function*() {
      const collector = yield* ctx.spawn(Collector, { expected: msg.count, notify: msg.reply })
      const pids: Array<P.Pid> = []
      for (let i = 0; i < msg.count; i++) {
        pids.push(yield* ctx.spawn(Counter, { event: msg.event, target: msg.target, collector }))
      }
      yield* ctx.send(msg.reply, { ready: pids })
    })
})

/** Forwards what it gets to a Deferred-completing callback (the bench's mailbox on the main node). */
const Inbox = Process.make({
  name: "Inbox",
  init: (onMessage: (msg: unknown) => void) => Effect.succeed(onMessage),
  handleMessage: (msg: unknown, onMessage) => Effect.sync(() => onMessage(msg)).pipe(Effect.as(onMessage))
})

const quiet = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(effect).pipe(Logger.withMinimumLogLevel(LogLevel.Warning)))

/** Deliveries per second from `go` until every counter has told the collector. */
const timed = (go: Effect.Effect<void, any>, done: Effect.Effect<void>, deliveries: number) =>
  Effect.gen(function*() {
    const start = performance.now()
    yield* go
    yield* Effect.timeoutFail(done, { duration: "100 seconds", onTimeout: () => new Error("not every subscriber got every message") })
    return deliveries / ((performance.now() - start) / 1000)
  })

const local = (publications: number, viaEvent: boolean) =>
  quiet(Effect.gen(function*() {
    const node = yield* Node.start("bench@localhost", { log: { level: "Warning" } })
    const producer = yield* node.spawn(Producer, undefined)
    const all = yield* Deferred.make<void>()
    const collector = yield* node.spawn(Collector, { expected: SUBSCRIBERS, all })
    const event = viaEvent ? Event.name("ticks", node.name) : undefined
    const pids: Array<P.Pid> = []
    for (let i = 0; i < SUBSCRIBERS; i++) pids.push(yield* node.spawn(Counter, { event, target: publications, collector }))
    const go = node.send(producer, viaEvent ? { publish: publications } : { direct: publications, to: pids })
    return yield* timed(go, Deferred.await(all), SUBSCRIBERS * publications)
  }))

/** Starts the peer node in another OS process; its port once it listens. */
const startPeer = (): Effect.Effect<number, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.promise(() =>
        new Promise<{ child: ReturnType<typeof spawn>; port: number }>((resolve, reject) => {
          const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "peer"], {
            stdio: ["ignore", "pipe", "inherit"]
          })
          let out = ""
          child.stdout!.on("data", (chunk: Buffer) => {
            out += chunk.toString()
            const m = /ready (\d+)/.exec(out)
            if (m !== null) resolve({ child, port: Number(m[1]) })
          })
          child.once("exit", (code) => reject(new Error(`peer exited with ${code}`)))
        })
      ),
      ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
    ),
    ({ port }) => port
  )

const remote = (publications: number, viaEvent: boolean) =>
  quiet(Effect.gen(function*() {
    const port = yield* startPeer()
    const node = yield* Node.start("bench@127.0.0.1", {
      log: { level: "Warning" },
      network: { cookie, port: 0, routes: { [PEER]: `127.0.0.1:${port}` } }
    })
    const producer = yield* node.spawn(Producer, undefined)
    const ready = yield* Deferred.make<ReadonlyArray<P.Pid>>()
    const all = yield* Deferred.make<void>()
    const inbox = yield* node.spawn(Inbox, (msg: unknown) => {
      if (msg === "done") Deferred.unsafeDone(all, Effect.void)
      else Deferred.unsafeDone(ready, Effect.succeed((msg as { ready: ReadonlyArray<P.Pid> }).ready))
    })
    const event = viaEvent ? Event.name("ticks", node.name) : undefined
    yield* node.send(Process.name("fans", PEER), { event, count: SUBSCRIBERS, target: publications, reply: inbox })
    const pids = yield* Deferred.await(ready)
    check(pids.length === SUBSCRIBERS, `the peer has ${pids.length} subscribers`)
    const before = (yield* node.connections).peers.find((p) => p.node === PEER)!.bytesOut
    const go = node.send(producer, viaEvent ? { publish: publications } : { direct: publications, to: pids })
    const rate = yield* timed(go, Deferred.await(all), SUBSCRIBERS * publications)
    const bytes = (yield* node.connections).peers.find((p) => p.node === PEER)!.bytesOut - before
    // once per node: the event's bytes cannot be anywhere near one message per subscriber
    if (viaEvent) check(bytes < publications * 1000, `${bytes} bytes on the wire for ${publications} publications`)
    else check(bytes > SUBSCRIBERS * publications * 5, `${bytes} bytes for ${SUBSCRIBERS * publications} direct sends`)
    return rate
  }))

const peer = () =>
  Node.runMain(PEER, { log: { level: "Warning" }, network: { cookie, port: 0 } }, (node) =>
    Effect.gen(function*() {
      yield* node.spawn(Fans, undefined, { name: "fans" })
      yield* Effect.sync(() => process.stdout.write(`ready ${node.port}\n`))
    }))

const main = async () => {
  const quick = process.argv.includes("--quick")
  const publications = quick ? 5 : 50
  const out: Record<string, number> = {}
  out["event.fanout.local.msgs_per_s"] = await local(publications, true)
  out["event.fanout.local.direct_msgs_per_s"] = await local(publications, false)
  out["event.fanout.remote.msgs_per_s"] = await remote(publications, true)
  out["event.fanout.remote.direct_msgs_per_s"] = await remote(publications, false)
  process.stdout.write(JSON.stringify(out) + "\n")
  process.exit(0)
}

if (process.argv[2] === "peer") peer()
else {
  main().catch((error) => {
    process.stderr.write(`events: ${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  })
}
