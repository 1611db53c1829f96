// Code of docs/guides/actor-model.md (type-checked by `npm run typecheck`).
import { Effect, Schema } from "effect"
import { Cron, Node, Process, StateMachine } from "rain"

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
