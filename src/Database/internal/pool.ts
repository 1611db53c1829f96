/**
 * The pool as a process. `init` opens the driver in a scope of its own, runs the
 * migrations and publishes the pool for the `SqlClient` layer; each query runs on a
 * fiber of its own (the process keeps taking requests, as a gen_server with deferred
 * replies) and answers its caller when done; `terminate` closes everything.
 *
 * @internal
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { Context as Ctx } from "../../Process/Context.js"
import type { From } from "../../Process/Message.js"
import { Cause, Clock, Duration, Effect, Exit, Metric, MetricLabel, Schedule, Scope } from "effect"
import type { Fiber } from "effect"
import { replyTo } from "../../Node/internal/calls.js"
import type { Kernel } from "../../Node/internal/kernel.js"
import { kernelOfPid } from "../../Node/internal/kernel.js"
import { noReply, reply } from "../../Process/Behaviour.js"
import type { Behaviour } from "../../Process/Behaviour.js"
import {
  DatabaseStartFailed,
  DatabaseUnavailable,
  InvalidDatabaseSpec,
  PoolExhausted,
  QueryFailed,
  QueryTimeout
} from "../errors.js"
import type { Query, Stats } from "../Query.js"
import type { Spec } from "../Spec.js"
import * as Driver from "./driver.js"
import { Guard } from "./guard.js"

/** @internal */
export interface State {
  readonly name: string
  readonly guard: Guard
  readonly client: SqlClient.SqlClient
  readonly scope: Scope.CloseableScope
  readonly queryMillis: number
  readonly key: string
  readonly inFlight: Set<InFlight>
  /** PostgreSQL: queries taken but not started yet, started together in the loop's check phase (`runQuery`). */
  readonly starting: Array<InFlight> | undefined
  /** The node's kernel: replies go straight to it from a query's fiber. */
  readonly kernel: Kernel
}

type Request = Query<any, any> | Stats

/** Running pools by node incarnation and name: what the `SqlClient` layer reaches. */
const running = new Map<string, Guard>()

/** @internal */
export const keyOf = (node: string, creation: number, pool: string) => `${node}#${creation}/${pool}`

/** @internal */
export const lookup = (key: string): Guard | undefined => running.get(key)

/** @internal */
export const nameOf = (spec: Spec): string => spec.name ?? "db_pool"

const defaultReconnect: Schedule.Schedule<unknown, unknown> = Schedule.exponential("50 millis").pipe(
  Schedule.either(Schedule.spaced("2 seconds"))
)

const validate = (spec: Spec): string | undefined => {
  if (typeof spec !== "object" || spec === null) return "expected an object such as { driver: \"sqlite\", filename: \":memory:\" }"
  if (spec.driver !== "sqlite" && spec.driver !== "postgres") {
    return `unknown driver ${JSON.stringify((spec as { driver?: unknown }).driver)}: use "sqlite" or "postgres"`
  }
  if (spec.driver === "sqlite" && (typeof spec.filename !== "string" || spec.filename === "")) {
    return "a sqlite database needs a filename (a path, or \":memory:\")"
  }
  if (spec.driver === "postgres" && spec.url === undefined && spec.host === undefined) {
    return "a postgres database needs a url (postgres://user@host:port/database) or a host"
  }
  const max = spec.pool?.maxConnections
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    return `pool.maxConnections must be a whole number of at least 1, not ${max}`
  }
  for (const key of ["acquireTimeout", "idleTimeout", "connectTimeout"] as const) {
    const value = spec.pool?.[key]
    if (value !== undefined && Duration.decodeUnknown(value)._tag === "None") {
      return `pool.${key} is not a duration: ${JSON.stringify(value)} (use e.g. "5 seconds" or a number of millis)`
    }
  }
  if (spec.queryTimeout !== undefined && Duration.decodeUnknown(spec.queryTimeout)._tag === "None") {
    return `queryTimeout is not a duration: ${JSON.stringify(spec.queryTimeout)}`
  }
  return undefined
}

/** @internal */
export const gauges = {
  open: Metric.gauge("rain_db_connections_open", { description: "Connections a database pool holds open" }),
  idle: Metric.gauge("rain_db_connections_idle", { description: "Open connections no query is using" }),
  busy: Metric.gauge("rain_db_connections_busy", { description: "Connections checked out by queries" }),
  waiting: Metric.gauge("rain_db_connections_waiting", { description: "Queries waiting for a connection" })
}

/**
 * Publishes the pool's figures to Effect's metrics, tagged with the node and the pool.
 *
 * @internal
 */
export const publishMetrics = (guard: Guard, node: string): void => {
  const figures = guard.figures()
  const tags = [MetricLabel.make("node", node), MetricLabel.make("pool", guard.pool)]
  gauges.open.unsafeUpdate(figures.open, tags)
  gauges.idle.unsafeUpdate(figures.idle, tags)
  gauges.busy.unsafeUpdate(figures.busy, tags)
  gauges.waiting.unsafeUpdate(figures.waiting, tags)
}

/** The tagged error a caller sees for a failure inside the pool. */
const toQueryError = (pool: string, error: unknown): unknown => {
  if (typeof error !== "object" || error === null) return error
  switch ((error as { _tag?: unknown })._tag) {
    case "SqlError": {
      const cause = (error as SqlError).cause
      if (cause instanceof DatabaseUnavailable || cause instanceof PoolExhausted) return cause
      return new QueryFailed({ pool, reason: Driver.describeCause(cause ?? (error as SqlError).message) })
    }
    case "ResultLengthMismatch":
      return new QueryFailed({ pool, reason: (error as Error).message })
    case "ParseError":
      return new QueryFailed({ pool, reason: `the rows do not match the result schema: ${(error as Error).message}` })
    case "NoSuchElementException":
      return new QueryFailed({ pool, reason: "the statement returned no row where one was required" })
    default:
      return error
  }
}

/** A query in flight; whichever comes first, its end or its deadline, answers the caller (once). */
interface InFlight {
  readonly deadline: number
  readonly millis: number
  readonly from: From
  readonly query: Query<any, any>
  done: boolean
  fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
}

const isQuery = (request: Request): request is Query<any, any> => request._tag === "rain/Database/Query"

const finish = (state: State, flight: InFlight): boolean => {
  if (flight.done) return false
  flight.done = true
  state.inFlight.delete(flight)
  return true
}

const failureOf = (pool: string, cause: Cause.Cause<unknown>): unknown => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") return toQueryError(pool, failure.value)
  return Cause.isInterruptedOnly(cause)
    ? new DatabaseUnavailable({ pool, reason: "the pool stopped while the query ran" })
    : new QueryFailed({ pool, reason: `the query died: ${Cause.pretty(cause)}` })
}

/**
 * Takes a query: its deadline runs from now; it starts at once on SQLite, and on PostgreSQL
 * with the others taken in this turn of the event loop, once its I/O callbacks have run
 * (`setImmediate`). Measured (`bench/db.ts pg`, 10 callers): a statement written from the
 * microtask that handled its call, right after the pool answered another caller, cost the
 * node 100-110 µs of CPU per query against 75-80 when the statements of a turn go out
 * together after its reads; the same statement through the `SqlClient` layer costs ~70.
 * SQLite runs its statements synchronously: deferring them would only add a turn.
 */
const runQuery = (state: State, query: Query<any, any>, from: From, now: number): void => {
  const millis = query.timeout === undefined ? state.queryMillis : Duration.toMillis(Duration.decode(query.timeout))
  const flight: InFlight = { deadline: now + millis, millis, from, query, done: false, fiber: undefined }
  state.inFlight.add(flight)
  if (state.starting === undefined) return start(state, flight)
  state.starting.push(flight)
  if (state.starting.length === 1) setImmediate(startTaken, state)
}

const startTaken = (state: State): void => {
  const taken = state.starting!.splice(0)
  for (const flight of taken) start(state, flight)
}

/**
 * Runs a query on a fiber of its own and answers its caller from the fiber's observer
 * (hot path: no timer per query, the sweeper enforces deadlines; no Effect around the
 * query for the reply, the fiber's own exit is the reply). A query answered already (its
 * deadline passed while it waited to start) does not run.
 */
const start = (state: State, flight: InFlight): void => {
  if (flight.done) return
  const query = flight.query
  flight.fiber = state.guard.fork(Effect.suspend(() => query.run(state.client)), (exit) => {
    if (!finish(state, flight)) return
    if (exit._tag === "Success") return replyTo(state.kernel, flight.from, exit)
    // Interrupted by the pool's close: the pool process is ending, and its callers hear that.
    if (state.guard.isClosed && Cause.isInterruptedOnly(exit.cause)) return
    replyTo(state.kernel, flight.from, Exit.fail(failureOf(state.name, exit.cause)))
  })
}

/** Cancels the queries past their deadline and answers their callers with `QueryTimeout`. */
const sweep = (state: State, now: number, ctx: Ctx<any, any>): Effect.Effect<void> => {
  let replies: Array<Effect.Effect<void>> | undefined
  for (const flight of state.inFlight) {
    if (flight.deadline > now || !finish(state, flight)) continue
    flight.fiber?.unsafeInterruptAsFork(flight.fiber.id())
    ;(replies ??= []).push(ctx.replyError(flight.from, new QueryTimeout({ pool: state.name, millis: flight.millis })))
  }
  return replies === undefined ? Effect.void : Effect.all(replies, { discard: true })
}

/** How often deadlines are checked: a query is cancelled at most this long after its timeout. */
const sweepEvery = 50

/**
 * The pool's behaviour: spawn it with the spec as its argument.
 *
 * @internal
 */
export const behaviour: Behaviour<
  State,
  Spec,
  never,
  Request,
  InvalidDatabaseSpec | DatabaseStartFailed
> = {
  name: "Database",
  init: (spec, ctx) =>
    Effect.gen(function*() {
      const name = typeof spec === "object" && spec !== null ? nameOf(spec) : "db_pool"
      const problem = validate(spec)
      if (problem !== undefined) return yield* new InvalidDatabaseSpec({ pool: name, problem })
      const scope = yield* Scope.make()
      return yield* Effect.gen(function*() {
        const runtime = yield* Effect.runtime<never>()
        const driver = yield* Scope.extend(Driver.make(spec), scope)
        const guard = new Guard(
          name,
          spec.driver,
          driver,
          Driver.maxConnectionsOf(spec),
          spec.pool?.acquireTimeout ?? "5 seconds",
          spec.reconnect ?? defaultReconnect,
          spec.pool?.connectTimeout ?? "5 seconds",
          runtime
        )
        yield* Scope.addFinalizer(scope, guard.close)
        const client = yield* SqlClient.make({
          acquirer: guard.acquire,
          transactionAcquirer: guard.acquireTransaction,
          compiler: driver.compiler,
          spanAttributes: [["db.system.name", spec.driver === "sqlite" ? "sqlite" : "postgresql"], ["rain.pool", name]]
        }).pipe(Effect.provide(Reactivity.layer))
        if (spec.migrations !== undefined) {
          yield* Migrator.make({})({
            loader: spec.migrations,
            // Left out when unset so the Migrator's own default table applies.
            ...(spec.migrationsTable === undefined ? {} : { table: spec.migrationsTable })
          }).pipe(
            Effect.provideService(SqlClient.SqlClient, client),
            // The Migrator dies with a MigrationError to roll a failed migration back: it is a start failure.
            Effect.catchAllDefect((defect) =>
              defect instanceof Migrator.MigrationError ? Effect.fail(defect) : Effect.die(defect)
            )
          )
        }
        const key = keyOf(ctx.self.node, ctx.self.creation, name)
        running.set(key, guard)
        // The figures reach Effect's metrics once a second, and at every `stats`/`info` read.
        guard.fork(
          Effect.sync(() => publishMetrics(guard, ctx.node)).pipe(Effect.repeat(Schedule.spaced("1 second")))
        )
        const state: State = {
          name,
          guard,
          client,
          scope,
          key,
          inFlight: new Set(),
          starting: spec.driver === "postgres" ? [] : undefined,
          kernel: kernelOfPid(ctx.self)!,
          queryMillis: Duration.toMillis(Duration.decode(spec.queryTimeout ?? "5 seconds"))
        }
        guard.fork(
          Effect.flatMap(Clock.currentTimeMillis, (now) => sweep(state, now, ctx)).pipe(
            Effect.repeat(Schedule.spaced(sweepEvery))
          )
        )
        return state
      }).pipe(
        Effect.mapError((error) =>
          new DatabaseStartFailed({
            pool: name,
            reason: error._tag === "SqlError"
              ? Driver.describeCause(error.cause ?? error.message)
              : `migration failed: ${error.message}${error.cause === undefined ? "" : ` (${Driver.describeCause(error.cause)})`}`
          })
        ),
        Effect.onError(() => Scope.close(scope, Exit.void))
      )
    }),
  handleCall: (request, from, state, ctx) => {
    if (isQuery(request)) {
      return Effect.sync(() => {
        runQuery(state, request, from, state.kernel.options.clock.unsafeCurrentTimeMillis())
        return noReply(state)
      })
    }
    publishMetrics(state.guard, ctx.node)
    return Effect.succeed(reply(state.guard.figures(), state))
  },
  terminate: (_reason, state) =>
    Effect.suspend(() => {
      if (running.get(state.key) === state.guard) running.delete(state.key)
      return Scope.close(state.scope, Exit.void)
    }),
  describe: (state) => state.guard.figures()
}
