// Code of docs/guides/actor-model.md (type-checked by `npm run typecheck`).
import { Effect, Schema } from "effect"
import { Process } from "rain"

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
