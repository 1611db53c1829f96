/**
 * A node-level cron scheduler (Ergo's `gen.Cron`, on effect's `Cron` expressions): jobs
 * with cron expressions (seconds optional, any IANA time zone), each sending a message to
 * a process or spawning one. Jobs are added, removed, enabled and disabled at run time,
 * and listed with their last and next run. What happens to a run the node missed (it was
 * busy, or stopped) is each job's explicit `missed` option: `"skip"` or `"runOnce"`.
 *
 * The scheduler is a process (registered as `rain/cron` by default): supervise it, link
 * to it and inspect it like any other. Its timers use the node's Clock, so `TestClock`
 * runs a day of jobs in milliseconds.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Cron, Node } from "rain"
 *
 * class Report extends Schema.TaggedClass<Report>()("Report", {}) {}
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@localhost")
 *   const cron = yield* Cron.start(node)
 *   yield* cron.add({
 *     name: "nightly-report",
 *     schedule: "0 30 2 * * *",         // 02:30:00 every day
 *     timeZone: "Europe/Paris",
 *     missed: "runOnce",                // a run missed while the node was down runs once at start
 *     action: Cron.send("reporter", new Report())
 *   })
 *   const jobs = yield* cron.list        // [{ name, lastRun, nextRun, runs, ... }]
 * }))
 * ```
 * @since 0.2.0
 */
import type { Duration } from "effect"
import { Context, Effect, Either, Layer, Option } from "effect"
import type { NodeService } from "../Node/index.js"
import { Node } from "../Node/index.js"
import type { Behaviour, Priority, SpawnOptions } from "../Process/Behaviour.js"
import type { CallError, SpawnError } from "../Process/errors.js"
import * as Reason from "../Process/ExitReason.js"
import type { Address, Pid } from "../Process/Pid.js"
import type { InvalidCronExpression, InvalidJob, JobNotFound } from "./errors.js"
import { JobExists } from "./errors.js"
import * as internal from "./internal/scheduler.js"

/**
 * Where a scheduler keeps each job's last run: the three operations of `@effect/platform`'s
 * `KeyValueStore` it uses, so any `KeyValueStore` (file system, memory, browser storage)
 * serves without Rain depending on `@effect/platform`.
 *
 * @since 0.2.0
 * @category models
 */
export interface Store {
  readonly get: (key: string) => Effect.Effect<Option.Option<string>, unknown>
  readonly set: (key: string, value: string) => Effect.Effect<void, unknown>
  readonly remove: (key: string) => Effect.Effect<void, unknown>
}

export {
  /**
   * A cron expression or time zone that does not parse, or that never matches.
   *
   * @since 0.2.0
   * @category errors
   */
  InvalidCronExpression,
  /**
   * A job that is not well formed (no name, no action, ...).
   *
   * @since 0.2.0
   * @category errors
   */
  InvalidJob,
  /**
   * A job of that name is already scheduled.
   *
   * @since 0.2.0
   * @category errors
   */
  JobExists,
  /**
   * No job of that name is scheduled.
   *
   * @since 0.2.0
   * @category errors
   */
  JobNotFound
} from "./errors.js"

/**
 * One run of a job, handed to `sendWith`/`spawnWith`: the scheduled time it stands for,
 * when it actually fired, and whether it is a late catch-up (`missed: "runOnce"`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Run {
  readonly job: string
  readonly scheduledAt: Date
  readonly firedAt: Date
  readonly late: boolean
}

/**
 * What a job does when it runs. `R` is the services a spawned behaviour needs.
 *
 * @since 0.2.0
 * @category models
 */
export type Action<R = never> =
  | {
    readonly _tag: "Send"
    readonly to: Address<any, any>
    readonly message: (run: Run) => unknown
    readonly priority: Priority | undefined
  }
  | {
    readonly _tag: "Spawn"
    readonly behaviour: Behaviour<any, any, any, any, any, R>
    readonly args: (run: Run) => unknown
    readonly options: SpawnOptions | undefined
  }

/**
 * Send `message` to `to` at each run (a pid, an alias, a registered name or a `Name`).
 *
 * @since 0.2.0
 * @category actions
 */
export const send = <M>(to: Address<M, any>, message: M, priority?: Priority): Action =>
  ({ _tag: "Send", to, message: () => message, priority })

/**
 * Send the message `make(run)` builds at each run (to tell the receiver which run it is).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Cron } from "rain"
 *
 * class Report extends Schema.TaggedClass<Report>()("Report", { for: Schema.Date }) {}
 *
 * const action = Cron.sendWith("reporter", (run: Cron.Run) => new Report({ for: run.scheduledAt }))
 * ```
 * @since 0.2.0
 * @category actions
 */
export const sendWith = <M>(to: Address<M, any>, make: (run: Run) => M, priority?: Priority): Action =>
  ({ _tag: "Send", to, message: make, priority })

/**
 * Spawn `behaviour` with `args` at each run (not linked to the scheduler: a crash of the
 * spawned process does not touch it).
 *
 * @since 0.2.0
 * @category actions
 */
export const spawn = <S, A, M, Q, E, R>(
  behaviour: Behaviour<S, A, M, Q, E, R>,
  args: A,
  options?: SpawnOptions
): Action<R> => ({ _tag: "Spawn", behaviour, args: () => args, options })

/**
 * Spawn `behaviour` with the arguments `make(run)` builds at each run.
 *
 * @since 0.2.0
 * @category actions
 */
export const spawnWith = <S, A, M, Q, E, R>(
  behaviour: Behaviour<S, A, M, Q, E, R>,
  make: (run: Run) => A,
  options?: SpawnOptions
): Action<R> => ({ _tag: "Spawn", behaviour, args: make, options })

/**
 * What to do with scheduled runs the node missed, because it was busy past the
 * scheduler's `grace` or stopped (see `Job.lastRun`): `"skip"` them (the default), or
 * `"runOnce"`: run once as soon as possible for all of them together.
 *
 * @since 0.2.0
 * @category models
 */
export type Missed = "skip" | "runOnce"

/**
 * A job.
 *
 * @since 0.2.0
 * @category models
 */
export interface Job<R = never> {
  /** Unique within the scheduler. */
  readonly name: string
  /** A cron expression: `"minute hour day month weekday"`, or six fields with seconds first. */
  readonly schedule: string
  /** An IANA time zone the expression is read in (default: the system's). */
  readonly timeZone?: string | undefined
  readonly action: Action<R>
  /** Start disabled with `false` (default true). */
  readonly enabled?: boolean | undefined
  /** Runs missed while busy or stopped: skip (default) or run once. */
  readonly missed?: Missed | undefined
  /**
   * When the job last ran, if it ran before (or let the scheduler's `store` remember it).
   * With `missed: "runOnce"`, a scheduled time between it and now runs the job once as
   * soon as it is added: a run missed while the node was stopped is not lost.
   */
  readonly lastRun?: Date | number | undefined
}

/**
 * A job as the listing shows it.
 *
 * @since 0.2.0
 * @category models
 */
export interface JobInfo {
  readonly name: string
  readonly schedule: string
  readonly timeZone: string | undefined
  /** `send to <address>` or `spawn <behaviour>`. */
  readonly action: string
  readonly enabled: boolean
  readonly missed: Missed
  readonly lastRun: Option.Option<Date>
  /** None while disabled. */
  readonly nextRun: Option.Option<Date>
  readonly runs: number
  /** Scheduled runs that did not happen (missed while busy or stopped). */
  readonly skipped: number
  /** Why the last run failed (a full mailbox, a spawn whose init failed); none after a success. */
  readonly lastError: Option.Option<string>
}

/**
 * Scheduler options.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options<R = never> {
  /** Registered name of the scheduler process (default `rain/cron`). */
  readonly name?: string | undefined
  /** Jobs to start with (added again if a supervisor restarts the scheduler). */
  readonly jobs?: ReadonlyArray<Job<R>> | undefined
  /** A wake-up later than this after its scheduled time counts as missed (default 1 second). */
  readonly grace?: Duration.DurationInput | undefined
  /**
   * Where to keep each job's last run (`rain/cron/<job>` keys), e.g. a file-system
   * `KeyValueStore` from `@effect/platform`: a job added without `lastRun` takes it from
   * there, so a run missed while the node was stopped is caught up (with `missed: "runOnce"`).
   */
  readonly store?: Store | undefined
}

/**
 * A handle on a node's scheduler.
 *
 * @since 0.2.0
 * @category models
 */
export interface CronService {
  /** The scheduler process. */
  readonly pid: Pid
  /** Adds a job; its spawn action runs with the services of the Effect that adds it. */
  add<R = never>(job: Job<R>): Effect.Effect<void, InvalidCronExpression | InvalidJob | JobExists | CallError, R>
  remove(name: string): Effect.Effect<void, JobNotFound | CallError>
  /** Enables a job: it runs from its next scheduled time, without catching up. */
  enable(name: string): Effect.Effect<void, JobNotFound | CallError>
  /** Disables a job: it stays listed, without a next run. */
  disable(name: string): Effect.Effect<void, JobNotFound | CallError>
  /** Every job, in the order they were added, with its last and next run. */
  readonly list: Effect.Effect<ReadonlyArray<JobInfo>, CallError>
  /** One job. */
  get(name: string): Effect.Effect<JobInfo, JobNotFound | CallError>
}

/**
 * The scheduler as a service.
 *
 * @since 0.2.0
 * @category tags
 */
export class Cron extends Context.Tag("rain/Cron")<Cron, CronService>() {}

/**
 * The scheduler behaviour, for a supervision tree: its `init` takes `{ jobs, grace }`.
 * Reach it afterwards with {@link fromPid}.
 *
 * @example
 * ```ts
 * import { Cron, Supervisor } from "rain"
 *
 * const jobs: ReadonlyArray<Cron.Job> = [{ name: "tick", schedule: "* * * * *", action: Cron.send("ticker", "tick") }]
 * const tree = Supervisor.oneForOne().pipe(
 *   Supervisor.child({ id: "cron", behaviour: Cron.Scheduler, args: { jobs, grace: "1 second" }, name: "rain/cron" })
 * )
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const Scheduler: Behaviour<
  unknown,
  {
    readonly jobs: ReadonlyArray<Job<any>>
    readonly grace: Duration.DurationInput
    readonly store?: Store | undefined
  },
  never,
  unknown,
  unknown,
  never
> = internal.Scheduler as any

/**
 * A handle on the scheduler process `pid` of `node`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromPid = (node: NodeService, pid: Pid): CronService => {
  const call = (request: internal.Request) => node.call(pid as any, request as any) as Effect.Effect<any, any>
  return {
    pid,
    add: (job) =>
      Effect.flatMap(Effect.context<any>(), (context) =>
        Effect.flatMap(Effect.clock, (clock) => {
          const prepared = internal.prepare(job, clock.unsafeCurrentTimeMillis(), context)
          return Either.isLeft(prepared) ? Effect.fail(prepared.left) : call({ _tag: "rain/Cron/Add", job: prepared.right })
        })),
    remove: (name) => call({ _tag: "rain/Cron/Remove", name }),
    enable: (name) => call({ _tag: "rain/Cron/Enable", name, enabled: true }),
    disable: (name) => call({ _tag: "rain/Cron/Enable", name, enabled: false }),
    list: call({ _tag: "rain/Cron/List" }),
    get: (name) => call({ _tag: "rain/Cron/Get", name })
  }
}

/**
 * Starts the node's scheduler (registered as `options.name`, default `rain/cron`) with
 * `options.jobs`. Its jobs' spawn actions run with the services of this Effect. Fails
 * with `NameTaken` when a scheduler already runs under that name (use {@link lookup}).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Cron, Node, Process } from "rain"
 *
 * const Ticker = Process.make({
 *   name: "Ticker",
 *   init: () => Effect.succeed(0),
 *   handleMessage: (_: "tick", ticks) => Effect.succeed(ticks + 1)
 * })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@localhost")
 *   const pid = yield* node.spawn(Ticker, undefined)
 *   const cron = yield* Cron.start(node, {
 *     jobs: [{ name: "tick", schedule: "* * * * * *", action: Cron.send(pid, "tick") }]
 *   })
 * }))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const start = <R = never>(
  node: NodeService,
  options: Options<R> = {}
): Effect.Effect<CronService, InvalidCronExpression | InvalidJob | JobExists | SpawnError, R> =>
  Effect.gen(function*() {
    const now = (yield* Effect.clock).unsafeCurrentTimeMillis()
    const jobs = options.jobs ?? []
    // Checked here first, so that a bad job is its own tagged error rather than an InitFailed.
    const names = new Set<string>()
    for (const job of jobs) {
      const prepared = internal.prepare(job, now, undefined)
      if (Either.isLeft(prepared)) return yield* Effect.fail(prepared.left)
      if (names.has(job.name)) return yield* Effect.fail(new JobExists({ name: job.name }, true))
      names.add(job.name)
    }
    const behaviour = internal.Scheduler as unknown as Behaviour<unknown, internal.Args, never, internal.Request, unknown, R>
    const args: internal.Args = { jobs, grace: options.grace ?? "1 second", store: options.store }
    const pid = yield* node.spawn(behaviour, args, { name: options.name ?? "rain/cron" })
    return fromPid(node, pid)
  })

/**
 * The scheduler running on `node` under `name` (default `rain/cron`), if any.
 *
 * @since 0.2.0
 * @category constructors
 */
export const lookup = (node: NodeService, name = "rain/cron"): Effect.Effect<Option.Option<CronService>> =>
  Effect.map(node.whereis(name), Option.map((pid) => fromPid(node, pid)))

/**
 * The scheduler as a layer on the `Node` in context; releasing the layer stops it.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = <R = never>(
  options?: Options<R>
): Layer.Layer<Cron, InvalidCronExpression | InvalidJob | JobExists | SpawnError, Node | R> =>
  Layer.scoped(
    Cron,
    Effect.flatMap(Node, (node) =>
      Effect.acquireRelease(start(node, options), (cron) =>
        Effect.zipRight(node.exit(cron.pid, Reason.shutdown), Effect.asVoid(node.awaitExit(cron.pid)))))
  )
