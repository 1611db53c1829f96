/**
 * What each node of the cluster benchmark (`bench/cluster.ts`) runs: an `echo` server,
 * sinks that count ticks, and drivers that time a workload inside their thread and answer
 * the call that started it with the elapsed milliseconds.
 */
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as Application from "../src/Application/index.js"
import * as Cluster from "../src/Cluster/index.js"
import * as Process from "../src/Process/index.js"

export class Tick extends Schema.TaggedClass<Tick>()("bench/Cluster/Tick", {}) {}
export class Done extends Schema.TaggedClass<Done>()("bench/Cluster/Done", {}) {}
export class Ping extends Schema.TaggedRequest<Ping>()("bench/Cluster/Ping", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: {}
}) {}
/**
 * What a driver measured of one `OneWay` run: when it started and when the sink had every
 * message, on `process.hrtime` (the monotonic clock every thread of the process shares,
 * in ms), and what its thread did meanwhile (see `threadTimes`).
 */
export const Run = Schema.Struct({
  start: Schema.Number,
  end: Schema.Number,
  /** The driver's thread id on Linux (`/proc/thread-self`), else null. */
  tid: Schema.NullOr(Schema.String),
  /** ms on a core, and ms runnable but waiting for one, of the driver's thread during the run (Linux), else null. */
  cpu: Schema.NullOr(Schema.Number),
  wait: Schema.NullOr(Schema.Number)
})
export type Run = typeof Run.Type
/** Send `count` ticks to a new sink on `node` ("" for this node) and answer with the `Run` once it has them all. */
export class OneWay extends Schema.TaggedRequest<OneWay>()("bench/Cluster/OneWay", {
  failure: Schema.String,
  success: Run,
  payload: { node: Schema.String, count: Schema.Number }
}) {}
/** Call `echo` on `node` `count` times in sequence; answer with the elapsed ms. */
export class Calls extends Schema.TaggedRequest<Calls>()("bench/Cluster/Calls", {
  failure: Schema.String,
  success: Schema.Number,
  payload: { node: Schema.String, count: Schema.Number }
}) {}

/** ms since an arbitrary origin, on the monotonic clock every thread of the process shares. */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6

/**
 * This thread's id and scheduler times (`/proc/thread-self/schedstat`: ns on a core, ns
 * runnable but waiting for one), in ms; undefined where there is no such file (not Linux).
 */
export const threadTimes = (): { readonly tid: string; readonly cpu: number; readonly wait: number } | undefined => {
  try {
    const tid = fs.readlinkSync("/proc/thread-self").split("/").pop()!
    const [cpu, wait] = fs.readFileSync("/proc/thread-self/schedstat", "utf8").split(" ").map(Number)
    return { tid, cpu: cpu! / 1e6, wait: wait! / 1e6 }
  } catch {
    return undefined
  }
}

const tick = new Tick()
const done = new Done()
const WINDOW = 1000

export const Echo = Process.make({
  name: "Echo",
  init: () => Effect.succeed(0),
  handleCall: (_: Ping, _from, n) => Effect.succeed(Process.reply(n, n + 1))
})

export const Sink = Process.make({
  name: "Sink",
  init: (args: { readonly count: number; readonly notify: Process.Pid }) => Effect.succeed({ ...args, left: args.count }),
  handleMessage: (_: Tick, state, ctx) => {
    const left = state.left - 1
    return left === 0 ? Effect.as(ctx.send(state.notify, done), { ...state, left }) : Effect.succeed({ ...state, left })
  }
})

interface DriverState {
  readonly started: number
  readonly times: ReturnType<typeof threadTimes>
  readonly from: Process.From<Run> | undefined
}

export const Driver = Process.make({
  name: "Driver",
  init: () => Effect.succeed<DriverState>({ started: 0, times: undefined, from: undefined }),
  handleCall: (req: OneWay | Calls, from, _state, ctx) =>
    Effect.gen(function*() {
      const times = threadTimes()
      const started = now()
      if (req instanceof Calls) {
        const echo = Process.name("echo", req.node)
        for (let i = 0; i < req.count; i++) yield* ctx.call(echo, new Ping(), "30 seconds")
        return Process.reply(now() - started, { started, times: undefined, from: undefined })
      }
      const args = { count: req.count, notify: ctx.self }
      const sink: Process.Address<Tick, any> = req.node === ""
        ? yield* ctx.spawn(Sink, args)
        : yield* ctx.spawnRemote(req.node, "Sink", args)
      // in windows, so that each window leaves as one batch while the next is produced
      for (let sent = 0; sent < req.count; sent += WINDOW) {
        const n = Math.min(WINDOW, req.count - sent)
        for (let i = 0; i < n; i++) yield* ctx.send(sink, tick)
        yield* Effect.yieldNow()
      }
      return Process.noReply<DriverState>({ started, times, from: from as Process.From<Run> })
    }).pipe(Effect.catchAll((e) => Effect.fail(String((e as { _tag?: string })._tag ?? e)))),
  handleMessage: (_: Done, state, ctx) => {
    if (state.from === undefined) return Effect.succeed(state)
    const end = now()
    const before = state.times
    const after = threadTimes()
    const run: Run = {
      start: state.started,
      end,
      tid: after?.tid ?? null,
      cpu: before === undefined || after === undefined ? null : after.cpu - before.cpu,
      wait: before === undefined || after === undefined ? null : after.wait - before.wait
    }
    return Effect.as(ctx.reply(state.from, run), { started: 0, times: undefined, from: undefined })
  }
})

export default Cluster.define({
  applications: [
    Application.make({
      name: "bench",
      version: "1.0.0",
      root: [
        { id: "echo", behaviour: Echo, args: undefined, name: "echo" },
        { id: "driver", behaviour: Driver, args: undefined, name: "driver" }
      ]
    })
  ],
  allowSpawn: [Sink],
  messages: [Tick, Done, Ping, OneWay, Calls]
})
