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
import { Cause, Duration, Effect, Exit, Metric, MetricLabel, Schedule, Scope } from "effect"
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
import { isQuery } from "../Query.js"
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
}

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

const runQuery = (state: State, query: Query<any, any>, from: From, ctx: Ctx<never, Query<any, any> | Stats>) => {
  const millis = query.timeout === undefined ? state.queryMillis : Duration.toMillis(Duration.decode(query.timeout))
  const pool = state.name
  return Effect.suspend(() => query.run(state.client)).pipe(
    Effect.timeoutFail({ duration: millis, onTimeout: () => new QueryTimeout({ pool, millis }) }),
    Effect.matchCauseEffect({
      onSuccess: (value) => ctx.reply(from, value),
      onFailure: (cause) =>
        ctx.replyError(
          from,
          Cause.failureOption(cause).pipe(
            (failure) =>
              failure._tag === "Some"
                ? toQueryError(pool, failure.value)
                : Cause.isInterruptedOnly(cause)
                ? new DatabaseUnavailable({ pool, reason: "the pool stopped while the query ran" })
                : new QueryFailed({ pool, reason: `the query died: ${Cause.pretty(cause)}` })
          )
        )
    })
  )
}

/**
 * The pool's behaviour: spawn it with the spec as its argument.
 *
 * @internal
 */
export const behaviour: Behaviour<
  State,
  Spec,
  never,
  Query<any, any> | Stats,
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
          transactionAcquirer: guard.acquire,
          compiler: driver.compiler,
          spanAttributes: [["db.system.name", spec.driver === "sqlite" ? "sqlite" : "postgresql"], ["rain.pool", name]]
        }).pipe(Effect.provide(Reactivity.layer))
        if (spec.migrations !== undefined) {
          yield* Migrator.make({})({ loader: spec.migrations, table: spec.migrationsTable }).pipe(
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
        return {
          name,
          guard,
          client,
          scope,
          key,
          queryMillis: Duration.toMillis(Duration.decode(spec.queryTimeout ?? "5 seconds"))
        }
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
      state.guard.fork(runQuery(state, request, from, ctx))
      return Effect.succeed(noReply(state))
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
