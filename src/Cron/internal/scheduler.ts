/**
 * The scheduler process: one timer per enabled job (a `sendAfter` to itself, so
 * `TestClock` drives it), and on each wake-up the job's action, unless the wake-up came
 * too late (the node was busy), in which case the job's `missed` policy decides.
 *
 * Waits are cut into steps of at most an hour: `setTimeout` cannot wait longer than
 * ~24.8 days, and a wall clock that jumps is noticed within the hour.
 *
 * @internal
 */
import type { KeyValueStore } from "@effect/platform/KeyValueStore"
import type { Context as EffectContext } from "effect"
import { Cause, Cron as EffectCron, Duration, Effect, Either, Option } from "effect"
import type { Behaviour, CallResult } from "../../Process/Behaviour.js"
import { reply, replyError } from "../../Process/Behaviour.js"
import type { Context, Timer } from "../../Process/Context.js"
import type { From } from "../../Process/Message.js"
import { InvalidCronExpression, InvalidJob, JobExists, JobNotFound } from "../errors.js"
import type { Action, Job, JobInfo, Missed, Run } from "../index.js"

const maxWaitMillis = 60 * 60 * 1000

/** A job whose expression is parsed, with the services its action runs with (those of whoever added it). */
export interface Prepared {
  readonly name: string
  readonly schedule: string
  readonly timeZone: string | undefined
  readonly cron: EffectCron.Cron
  readonly action: Action<any>
  readonly enabled: boolean
  readonly missed: Missed
  readonly lastRun: number | undefined
  readonly context: EffectContext.Context<any> | undefined
}

/** Parses and checks a job; `now` is used to check that the expression ever matches. */
export const prepare = (
  job: Job<any>,
  now: number,
  context: EffectContext.Context<any> | undefined
): Either.Either<Prepared, InvalidCronExpression | InvalidJob> => {
  if (typeof job.name !== "string" || job.name.trim() === "") {
    return Either.left(new InvalidJob({ name: String(job.name), reason: "a job needs a non-empty name" }, true))
  }
  if (job.action === undefined || (job.action._tag !== "Send" && job.action._tag !== "Spawn")) {
    return Either.left(new InvalidJob({ name: job.name, reason: "its action must be Cron.send, Cron.sendWith, Cron.spawn or Cron.spawnWith" }, true))
  }
  const parsed = EffectCron.parse(job.schedule, job.timeZone)
  if (Either.isLeft(parsed)) {
    const reason = parsed.left.message === "Invalid time zone in cron expression"
      ? `unknown time zone "${job.timeZone}"`
      : parsed.left.message
    return Either.left(new InvalidCronExpression({ expression: job.schedule, timeZone: job.timeZone, reason }, true))
  }
  try {
    EffectCron.next(parsed.right, new Date(now))
  } catch {
    return Either.left(
      new InvalidCronExpression({
        expression: job.schedule,
        timeZone: job.timeZone,
        reason: "it never matches a date (a day that no month has, such as February 30?)"
      }, true)
    )
  }
  const lastRun = job.lastRun === undefined ? undefined : new Date(job.lastRun).getTime()
  if (lastRun !== undefined && Number.isNaN(lastRun)) {
    return Either.left(new InvalidJob({ name: job.name, reason: "lastRun is not a valid date" }, true))
  }
  return Either.right({
    name: job.name,
    schedule: job.schedule,
    timeZone: job.timeZone,
    cron: parsed.right,
    action: job.action,
    enabled: job.enabled ?? true,
    missed: job.missed ?? "skip",
    lastRun,
    context
  })
}

/** A job as the scheduler keeps it. */
interface Entry {
  readonly job: Prepared
  enabled: boolean
  lastRun: number | undefined
  nextRun: number | undefined
  runs: number
  skipped: number
  lastError: string | undefined
  timer: Timer | undefined
  /** Which wake-up is current: a wake-up of a cancelled timer already in the mailbox is ignored. */
  wake: number
}

/** @internal */
export interface SchedulerState {
  readonly jobs: Map<string, Entry>
  readonly grace: number
  readonly store: KeyValueStore | undefined
  wakes: number
}

/** A job's timer went off. */
class Wake {
  constructor(readonly name: string, readonly wake: number) {}
}

/** The requests the handle sends (local only: a job holds functions and behaviours). */
export type Request =
  | { readonly _tag: "rain/Cron/Add"; readonly job: Prepared }
  | { readonly _tag: "rain/Cron/Remove"; readonly name: string }
  | { readonly _tag: "rain/Cron/Enable"; readonly name: string; readonly enabled: boolean }
  | { readonly _tag: "rain/Cron/List" }
  | { readonly _tag: "rain/Cron/Get"; readonly name: string }

/** The scheduler's `init` argument. */
export interface Args {
  readonly jobs: ReadonlyArray<Job<any>>
  readonly grace: Duration.DurationInput
  readonly store?: KeyValueStore | undefined
}

/** Where a job's last run is kept in the store. */
const storeKey = (name: string) => `rain/cron/${name}`

/** The last run the store remembers for a job (none if the store fails: logged, not fatal). */
const storedLastRun = (state: SchedulerState, name: string): Effect.Effect<number | undefined> =>
  state.store === undefined
    ? Effect.succeed(undefined)
    : state.store.get(storeKey(name)).pipe(
      Effect.map(Option.match({ onNone: () => undefined, onSome: (text) => (Number.isFinite(Number(text)) ? Number(text) : undefined) })),
      Effect.catchAll((error) =>
        Effect.as(Effect.logWarning(`cron: cannot read the last run of "${name}" from the store: ${error.message}`), undefined))
    )

const storeLastRun = (state: SchedulerState, name: string, at: number): Effect.Effect<void> =>
  state.store === undefined
    ? Effect.void
    : state.store.set(storeKey(name), String(at)).pipe(
      Effect.catchAll((error) => Effect.logWarning(`cron: cannot save the last run of "${name}" to the store: ${error.message}`))
    )

type Ctx = Context<any, any>

const describeAction = (action: Action<any>): string =>
  action._tag === "Send" ? `send to ${String(action.to)}` : `spawn ${action.behaviour.name}`

const info = (entry: Entry): JobInfo => ({
  name: entry.job.name,
  schedule: entry.job.schedule,
  timeZone: entry.job.timeZone,
  action: describeAction(entry.job.action),
  enabled: entry.enabled,
  missed: entry.job.missed,
  lastRun: Option.map(Option.fromNullable(entry.lastRun), (t) => new Date(t)),
  nextRun: Option.map(Option.fromNullable(entry.nextRun), (t) => new Date(t)),
  runs: entry.runs,
  skipped: entry.skipped,
  lastError: Option.fromNullable(entry.lastError)
})

/** The first scheduled time after `at`; none if no date matches any more. */
const nextAfter = (cron: EffectCron.Cron, at: number): number | undefined => {
  try {
    return EffectCron.next(cron, new Date(at)).getTime()
  } catch {
    return undefined
  }
}

/** Arms the timer of an enabled job for its next run after `now`. */
const arm = (state: SchedulerState, entry: Entry, now: number, ctx: Ctx): Effect.Effect<void> => {
  if (!entry.enabled) return Effect.void
  if (entry.nextRun === undefined || entry.nextRun <= now) {
    entry.nextRun = nextAfter(entry.job.cron, now)
    if (entry.nextRun === undefined) {
      // No date matches any more (effect's Cron gives up after 10,000 steps): the job stays listed, disabled.
      entry.enabled = false
      entry.lastError = `no scheduled time after ${new Date(now).toISOString()}`
      return Effect.logWarning(`cron job "${entry.job.name}" disabled: ${entry.lastError}`)
    }
  }
  const wake = new Wake(entry.job.name, (entry.wake = ++state.wakes))
  return Effect.map(
    ctx.sendAfter(ctx.self as any, wake, Math.min(entry.nextRun - now, maxWaitMillis)),
    (timer) => void (entry.timer = timer)
  )
}

const disarm = (entry: Entry): Effect.Effect<void> => {
  const timer = entry.timer
  entry.timer = undefined
  entry.wake = -1
  entry.nextRun = undefined
  return timer === undefined ? Effect.void : Effect.asVoid(timer.cancel)
}

/**
 * The scheduled times of `cron` in [from, now] (`from` being one): how many, and the
 * latest. Past a thousand (a node busy for very long), the count is a lower bound.
 */
const dueTimes = (cron: EffectCron.Cron, from: number, now: number): { count: number; latest: number } => {
  let count = 1
  let latest = from
  try {
    for (let i = 0; i < 1000; i++) {
      const next = EffectCron.next(cron, new Date(latest)).getTime()
      if (next > now) return { count, latest }
      count++
      latest = next
    }
    const second = now - (now % 1000)
    latest = EffectCron.match(cron, new Date(second)) ? second : EffectCron.prev(cron, new Date(second)).getTime()
  } catch {
    // No further match (effect's Cron gives up after 10,000 steps): what was counted stands.
  }
  return { count, latest }
}

/** Runs a job's action; a failure is recorded and logged, never a crash of the scheduler. */
const runAction = (state: SchedulerState, entry: Entry, run: Run, ctx: Ctx): Effect.Effect<void> => {
  const action = entry.job.action
  const effect = Effect.suspend((): Effect.Effect<unknown, unknown, any> => {
    switch (action._tag) {
      case "Send":
        return ctx.send(action.to, action.message(run), action.priority)
      case "Spawn":
        return ctx.spawn(action.behaviour, action.args(run), action.options)
    }
  })
  const provided = entry.job.context === undefined ? effect : Effect.provide(effect, entry.job.context)
  entry.runs++
  entry.lastRun = run.firedAt.getTime()
  return (provided as Effect.Effect<unknown, unknown>).pipe(
    Effect.ensuring(storeLastRun(state, entry.job.name, run.firedAt.getTime())),
    Effect.matchCauseEffect({
      onSuccess: () => Effect.sync(() => void (entry.lastError = undefined)),
      onFailure: (cause) => {
        const failure = Cause.squash(cause)
        entry.lastError = failure instanceof Error || (typeof failure === "object" && failure !== null && "message" in failure)
          ? `${(failure as any)._tag ?? (failure as Error).name}: ${(failure as Error).message}`
          : String(failure)
        return Effect.logWarning(`cron job "${entry.job.name}" failed: ${entry.lastError}`)
      }
    })
  )
}

/**
 * A job is due at `due` (a scheduled time) and it is `now`: run it if on time; if late
 * (the node was busy or stopped), run it once or skip it as its `missed` option says.
 */
const fire = (state: SchedulerState, entry: Entry, due: number, now: number, ctx: Ctx): Effect.Effect<void> => {
  const { count, latest } = dueTimes(entry.job.cron, due, now)
  const onTime = now - latest <= state.grace
  const run = (late: boolean) =>
    runAction(state, entry, { job: entry.job.name, scheduledAt: new Date(latest), firedAt: new Date(now), late }, ctx)
  let effect: Effect.Effect<void>
  if (onTime) {
    entry.skipped += count - 1
    effect = count > 1 ? Effect.zipRight(logMissed(entry, count - 1, "skipped"), run(false)) : run(false)
  } else if (entry.job.missed === "runOnce") {
    entry.skipped += count - 1
    effect = Effect.zipRight(logMissed(entry, count, "run once now"), run(true))
  } else {
    entry.skipped += count
    effect = logMissed(entry, count, "skipped")
  }
  entry.nextRun = undefined
  return Effect.zipRight(effect, Effect.suspend(() => arm(state, entry, now, ctx)))
}

const logMissed = (entry: Entry, count: number, what: string) =>
  Effect.logWarning(`cron job "${entry.job.name}" missed ${count} scheduled run(s) (node busy or stopped): ${what}`)

/**
 * Adds a job: catches up on a run missed since its last run (given, or kept in the store)
 * if it is due, then arms its timer.
 */
const add = (state: SchedulerState, job: Prepared, now: number, ctx: Ctx): Effect.Effect<void> =>
  job.lastRun !== undefined
    ? addWith(state, job, job.lastRun, now, ctx)
    : Effect.flatMap(storedLastRun(state, job.name), (lastRun) => addWith(state, job, lastRun, now, ctx))

const addWith = (state: SchedulerState, job: Prepared, lastRun: number | undefined, now: number, ctx: Ctx): Effect.Effect<void> => {
  const entry: Entry = {
    job,
    enabled: job.enabled,
    lastRun,
    nextRun: undefined,
    runs: 0,
    skipped: 0,
    lastError: undefined,
    timer: undefined,
    wake: -1
  }
  state.jobs.set(job.name, entry)
  if (job.enabled && lastRun !== undefined) {
    const first = nextAfter(job.cron, lastRun)
    if (first !== undefined && first <= now) return fire(state, entry, first, now, ctx)
  }
  return arm(state, entry, now, ctx)
}

const notFound = (state: SchedulerState, name: string) =>
  new JobNotFound({ name, known: Array.from(state.jobs.keys()) }, true)

/** The scheduler behaviour. */
export const Scheduler: Behaviour<SchedulerState, Args, never, Request, unknown, never> = {
  name: "Cron",
  init: (args, ctx) =>
    Effect.gen(function*() {
      const state: SchedulerState = {
        jobs: new Map(),
        grace: Duration.toMillis(Duration.decode(args.grace)),
        store: args.store,
        wakes: 0
      }
      const now = yield* ctx.currentTimeMillis
      for (const job of args.jobs) {
        const prepared = prepare(job, now, undefined)
        if (Either.isLeft(prepared)) return yield* Effect.fail(prepared.left)
        if (state.jobs.has(job.name)) return yield* Effect.fail(new JobExists({ name: job.name }, true))
        yield* add(state, prepared.right, now, ctx)
      }
      return state
    }),
  handleMessage: (message: unknown, state, ctx) => {
    if (!(message instanceof Wake)) return Effect.succeed(state)
    const entry = state.jobs.get(message.name)
    if (entry === undefined || entry.wake !== message.wake || entry.nextRun === undefined) return Effect.succeed(state)
    const due = entry.nextRun
    return Effect.flatMap(ctx.currentTimeMillis, (now) =>
      Effect.as(now < due ? arm(state, entry, now, ctx) : fire(state, entry, due, now, ctx), state))
  },
  handleCall: (request, _from: From, state, ctx) =>
    Effect.flatMap(ctx.currentTimeMillis, (now): Effect.Effect<CallResult<SchedulerState, any>> => {
      switch (request._tag) {
        case "rain/Cron/Add":
          if (state.jobs.has(request.job.name)) return Effect.succeed(replyError(new JobExists({ name: request.job.name }, true), state))
          return Effect.as(add(state, request.job, now, ctx), reply(undefined, state))
        case "rain/Cron/Remove": {
          const entry = state.jobs.get(request.name)
          if (entry === undefined) return Effect.succeed(replyError(notFound(state, request.name), state))
          state.jobs.delete(request.name)
          // A removed job's history goes with it: a job added later under that name starts afresh.
          const forget = state.store === undefined
            ? Effect.void
            : state.store.remove(storeKey(request.name)).pipe(Effect.catchAll(() => Effect.void))
          return Effect.as(Effect.zipRight(disarm(entry), forget), reply(undefined, state))
        }
        case "rain/Cron/Enable": {
          const entry = state.jobs.get(request.name)
          if (entry === undefined) return Effect.succeed(replyError(notFound(state, request.name), state))
          if (entry.enabled === request.enabled) return Effect.succeed(reply(undefined, state))
          entry.enabled = request.enabled
          // Enabled again: from now on, without catching up on the runs it had while disabled.
          return Effect.as(request.enabled ? arm(state, entry, now, ctx) : disarm(entry), reply(undefined, state))
        }
        case "rain/Cron/List":
          return Effect.succeed(reply(Array.from(state.jobs.values(), info), state))
        case "rain/Cron/Get": {
          const entry = state.jobs.get(request.name)
          return Effect.succeed(entry === undefined ? replyError(notFound(state, request.name), state) : reply(info(entry), state))
        }
      }
    }),
  terminate: (_reason, state) => Effect.forEach(state.jobs.values(), disarm, { discard: true }),
  describe: (state) => ({ jobs: state.jobs.size, enabled: Array.from(state.jobs.values()).filter((e) => e.enabled).length })
}
