/**
 * The two drivers behind a pool: each builds the `@effect/sql` client of its database,
 * says how many connections are open and idle, and tells a lost connection (the pool
 * goes unavailable and reconnects) from a failed statement (only that query fails).
 *
 * @internal
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlConnection from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import * as Statement from "@effect/sql/Statement"
import { Duration, Effect, Redacted } from "effect"
import type { Scope } from "effect"
import pg from "pg"
import type { Spec } from "../Spec.js"

/** @internal */
export interface Driver {
  /** The driver's own client: statements on it bypass the pool's slots (used for probes). */
  readonly inner: SqlClient.SqlClient
  /** A driver with one connection for good (SQLite) hands it out here; others reserve one per acquire. */
  readonly connection: SqlConnection.Connection | undefined
  readonly compiler: Statement.Compiler
  /** Connections the driver holds open now, and how many of them are idle (`undefined`: the pool computes it). */
  readonly open: () => number
  readonly idle: (() => number) | undefined
  /** Whether this failure means the connection (or the server) is gone rather than the statement being wrong. */
  readonly isConnectionError: (error: SqlError) => boolean
  /** Called by the driver when it notices a lost connection on its own (an idle connection dropped by the server). */
  onLost: (reason: string) => void
}

/** @internal */
export const maxConnectionsOf = (spec: Spec): number => (spec.driver === "sqlite" ? 1 : spec.pool?.maxConnections ?? 10)

/** @internal */
export const compilerOf = (spec: Spec): Statement.Compiler =>
  spec.driver === "sqlite" ? Statement.makeCompilerSqlite() : PgClient.makeCompiler()

/** Socket and server-side codes of a connection that is gone, as opposed to a statement that failed. */
const lostCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03" // cannot_connect_now (starting up or shutting down)
])
const lostMessage = /connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|client was closed|cannot use a pool after calling end/i

/** @internal */
export const describeCause = (cause: unknown): string => {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code
    if (cause.message === "" && cause instanceof AggregateError && cause.errors.length > 0) {
      return describeCause(cause.errors[0])
    }
    return typeof code === "string" && !cause.message.includes(code) ? `${cause.message} (${code})` : cause.message
  }
  return String(cause)
}

const pgLost = (error: SqlError): boolean => {
  const cause = error.cause as { code?: unknown; message?: unknown; errors?: ReadonlyArray<unknown> } | undefined
  if (cause === undefined || cause === null) return false
  const code = cause.code
  if (typeof code === "string" && (lostCodes.has(code) || code.startsWith("08"))) return true
  if (Array.isArray(cause.errors) && cause.errors.some((e) => lostCodes.has((e as { code?: string })?.code ?? ""))) {
    return true
  }
  return typeof cause.message === "string" && lostMessage.test(cause.message)
}

const sqliteLost = (error: SqlError): boolean => {
  const code = (error.cause as { code?: unknown } | undefined)?.code
  return typeof code === "string" && (code === "SQLITE_CANTOPEN" || code === "SQLITE_NOTADB" || code.startsWith("SQLITE_IOERR"))
}

/** Builds the driver of `spec` in `scope`; the first connection is opened (and checked) here. */
export const make = (spec: Spec): Effect.Effect<Driver, SqlError, Scope.Scope> => {
  if (spec.driver === "sqlite") {
    return Effect.gen(function*() {
      const inner = yield* SqliteClient.make({ filename: spec.filename, readonly: spec.readonly }).pipe(
        Effect.provide(Reactivity.layer)
      )
      // SQLite runs one connection: take it once (the pool's single slot serializes its users).
      const connection = yield* Effect.scoped(inner.reserve)
      return {
        inner,
        connection,
        compiler: compilerOf(spec),
        open: () => 1,
        idle: undefined,
        isConnectionError: sqliteLost,
        onLost: () => {}
      }
    })
  }
  return Effect.gen(function*() {
    const millis = (d: Duration.DurationInput | undefined, fallback: number) =>
      d === undefined ? fallback : Duration.toMillis(Duration.decode(d))
    const password = spec.password === undefined
      ? undefined
      : Redacted.isRedacted(spec.password)
      ? Redacted.value(spec.password)
      : spec.password
    const pool = new pg.Pool({
      connectionString: spec.url,
      host: spec.host,
      port: spec.port,
      database: spec.database,
      user: spec.username,
      password,
      ssl: spec.ssl,
      max: maxConnectionsOf(spec),
      min: 0,
      idleTimeoutMillis: millis(spec.pool?.idleTimeout, 30_000),
      connectionTimeoutMillis: millis(spec.pool?.connectTimeout, 5_000),
      application_name: spec.applicationName ?? `rain/${spec.name ?? "db_pool"}`
    })
    const lost = { report: (_reason: string) => {} }
    // An idle connection the server drops is reported here (pg would otherwise throw it as an unhandled 'error').
    pool.on("error", (error) => lost.report(describeCause(error)))
    const inner = yield* PgClient.fromPool({
      acquire: Effect.acquireRelease(Effect.succeed(pool), (p) =>
        Effect.promise(() => p.end()).pipe(Effect.interruptible, Effect.timeoutOption("1 second")))
    }).pipe(Effect.provide(Reactivity.layer))
    yield* Effect.tryPromise({
      try: () => pool.query("SELECT 1"),
      catch: (cause) => new SqlError({ cause, message: describeCause(cause) })
    }).pipe(
      Effect.timeoutFail({
        duration: millis(spec.pool?.connectTimeout, 5_000),
        onTimeout: () => new SqlError({ message: "no answer from the server within the connect timeout" })
      })
    )
    const driver: Driver = {
      inner,
      connection: undefined,
      compiler: compilerOf(spec),
      open: () => pool.totalCount,
      idle: () => pool.idleCount,
      isConnectionError: pgLost,
      onLost: () => {}
    }
    lost.report = (reason) => driver.onLost(reason)
    return driver
  })
}
