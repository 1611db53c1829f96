// Code of docs/guides/actor-model.md (type-checked by `npm run typecheck`).
import { Effect, Schema } from "effect"
import { Cron, Event, Group, Node, Pool, Process, Router, StateMachine } from "rain"

class Job extends Schema.TaggedClass<Job>()("Job", { id: Schema.Number }) {}
class Result extends Schema.TaggedRequest<Result>()("Result", {
  failure: Schema.Never,
  success: Schema.String,
  payload: { id: Schema.Number }
}) {}

export const Worker = Process.make({
  name: "Worker",
  init: () => Effect.succeed(new Map<number, string>()),
  handleMessage: (job: Job, done) => Effect.sync(() => done.set(job.id, `job ${job.id} done`)),
  handleCall: (req: Result, _from, done) => Effect.succeed(Process.reply(done.get(req.id) ?? "unknown", done))
})

export const Parent = Process.make({
  name: "Parent",
  init: (_: void, ctx) =>
    Effect.gen(function*() {
      yield* ctx.trapExit(true) // exit signals from links arrive as Exit messages
      const child = yield* ctx.spawnLink(Worker, undefined)
      yield* ctx.monitor(child) // exactly one Down when it ends
      return child
    }),
  handleInfo: (info, child) =>
    Effect.gen(function*() {
      if (info._tag === "Down") yield* Effect.log(`worker ended: ${info.reason._tag}`)
      if (info._tag === "Exit") yield* Effect.log(`exit signal from ${info.from}: ${info.reason._tag}`)
      return child
    })
})

class Slow extends Schema.TaggedRequest<Slow>()("Slow", {
  failure: Schema.Never,
  success: Schema.String,
  payload: {}
}) {}

// gen_server's deferred reply: keep `from`, answer from a later handler
export const Deferred = Process.make({
  name: "Deferred",
  init: () => Effect.succeed<ReadonlyArray<Process.From>>([]),
  handleCall: (_req: Slow, from, waiting) => Effect.succeed(Process.noReply([...waiting, from])),
  handleMessage: (_tick: "tick", waiting, ctx) =>
    Effect.as(Effect.forEach(waiting, (from) => ctx.reply(from, "ready"), { discard: true }), [])
})

// --- State machines and scheduled jobs
class Button extends Schema.TaggedClass<Button>()("Button", { digit: Schema.String }) {}
class Status extends Schema.TaggedRequest<Status>()("Status", {
  failure: Schema.Never,
  success: Schema.String,
  payload: {}
}) {}
class Report extends Schema.TaggedClass<Report>()("Report", {}) {}

type Door = { locked: { code: string; entered: string }; open: { code: string } }

export const Lock = StateMachine.make<Door, Button, Status>()({
  name: "Lock",
  init: (code: string) => Effect.succeed(StateMachine.nextState("locked", { code, entered: "" })),
  states: {
    locked: {
      handleMessage: (b, d) =>
        Effect.succeed(
          d.entered + b.digit === d.code
            ? StateMachine.nextState("open", { code: d.code })
            : StateMachine.keepState({ ...d, entered: d.entered + b.digit })
        ),
      handleCall: (_req, _from, d) => Effect.succeed(StateMachine.keepState(d, [StateMachine.reply(_from, "locked")]))
    },
    open: {
      enter: () => Effect.succeed(StateMachine.keepStateAndData([StateMachine.stateTimeout("10 seconds")])),
      handleMessage: () => Effect.succeed(StateMachine.keepStateAndData([StateMachine.postpone()])),
      handleCall: (_req, from) => Effect.succeed(StateMachine.keepStateAndData([StateMachine.reply(from, "open")])),
      handleTimeout: (_t, d) => Effect.succeed(StateMachine.nextState("locked", { code: d.code, entered: "" }))
    }
  }
})

export const scheduleReports = (node: Node.NodeService) =>
  Effect.gen(function*() {
    const cron = yield* Cron.start(node)
    yield* cron.add({
      name: "nightly-report",
      schedule: "0 30 2 * * *",
      timeZone: "Europe/Paris",
      missed: "runOnce",
      action: Cron.send("reporter", new Report())
    })
  })

// --- Pools and routers
class Thumbnail extends Schema.TaggedRequest<Thumbnail>()("Thumbnail", {
  failure: Schema.Never,
  success: Schema.String,
  payload: { url: Schema.String }
}) {}

export const Resizer = Process.make({
  name: "Resizer",
  init: (quality: number) => Effect.succeed(quality),
  handleCall: (req: Thumbnail, _from, quality) => Effect.succeed(Process.reply(`${req.url}?q=${quality}`, quality))
})

export const thumbnails = (node: Node.NodeService) =>
  Effect.gen(function*() {
    const resizers = Pool.make({ worker: Resizer, args: 80, size: 4, strategy: "least-busy" })
    const pool = yield* node.spawn(resizers, undefined, { name: "resizers" })
    const thumb = yield* Pool.call(node, pool, new Thumbnail({ url: "/cat.png" })) // a worker answers
    yield* Pool.resize(node, pool, 8)
    const { forwarded, rejected, restarts } = yield* Pool.stats(node, pool)
    return { thumb, forwarded, rejected, restarts }
  })

class Put extends Schema.TaggedClass<Put>()("Put", { key: Schema.String, value: Schema.Number }) {}

export const Shard = Process.make({
  name: "Shard",
  init: () => Effect.succeed(new Map<string, number>()),
  handleMessage: (put: Put, data) => Effect.sync(() => data.set(put.key, put.value))
})

export const sharded = (node: Node.NodeService) =>
  Effect.gen(function*() {
    const shards = yield* Effect.forEach([1, 2, 3], () => node.spawn(Shard, undefined))
    const router = yield* Router.make(Router.consistentHashing({ key: (put: Put) => put.key }), shards)
    yield* Router.send(node, router, new Put({ key: "ada", value: 1 })) // the same shard for "ada", every time
    return yield* node.spawn(Router.behaviour(router), undefined, { name: "kv" }) // or as a process
  })

// --- Events and process groups
export const Prices = Process.make({
  name: "Prices",
  init: (_: void, ctx) => Event.register(ctx, "prices", { buffer: 10 }),
  handleMessage: (price: number, token, ctx) => Effect.as(Event.publish(ctx, token, price), token)
})

export const Watcher = Process.make({
  name: "Watcher",
  init: (_: void, ctx) =>
    Effect.map(Event.monitor(ctx, Event.name("prices", "market@10.0.0.7")), (buffered) => buffered.length),
  handleMessage: (msg: Event.EventMessage | Event.EventDown, seen, ctx) =>
    msg._tag === "EventMessage" ? Effect.succeed(seen + 1) : Effect.as(ctx.stop(), seen) // the producer ended
})

export const Pricer = Process.make({
  name: "Pricer",
  init: (_: void, ctx) => Group.join(ctx, "pricers", ctx.self) // leaves by itself when it ends
})

export const Dispatcher = Process.make({
  name: "Dispatcher",
  init: (_: void, ctx) => Effect.map(Group.monitor(ctx, "pricers"), ({ members }) => members.length),
  handleMessage: (change: Group.Joined | Group.Left, count) =>
    Effect.succeed(change._tag === "GroupJoined" ? count + change.pids.length : count - change.pids.length)
})

export const pricers = (node: Node.NodeService) =>
  Effect.gen(function*() {
    yield* Group.start(node) // on every node that uses groups
    yield* node.spawn(Pricer, undefined)
    return yield* Group.members(node, "pricers") // on every connected node
  })

// --- Hot code upgrades
class Tick extends Schema.TaggedClass<Tick>()("Tick", {}) {}

export const CounterV1 = Process.make({
  name: "Counter",
  version: 1,
  init: () => Effect.succeed(0),
  handleMessage: (_: Tick, count) => Effect.succeed(count + 1)
})

export const CounterV2 = Process.make({
  name: "Counter",
  version: 2,
  init: () => Effect.succeed({ count: 0, since: 0 }),
  handleMessage: (_: Tick, state) => Effect.succeed({ ...state, count: state.count + 1 }),
  codeChange: (_oldVersion, count: number, extra) => Effect.succeed({ count, since: extra as number })
})

export const upgradeCounters = (node: Node.NodeService) =>
  Effect.gen(function*() {
    const report = yield* node.upgrade(CounterV1, CounterV2, Date.now())
    return report.upgraded.length // every process that ran CounterV1 now runs CounterV2
  })
