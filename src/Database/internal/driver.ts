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
import { Duration, Effect, Redacted, Stream } from "effect"
import type { Scope } from "effect"
import pg from "pg"
import type { Spec } from "../Spec.js"

/** @internal */
export interface Driver {
  /** The driver's own client: statements on it bypass the pool's slots (used for probes). */
  readonly inner: SqlClient.SqlClient
  /** A driver with one connection for good (SQLite) hands it out here; others reserve one per transaction. */
  readonly connection: SqlConnection.Connection | undefined
  /**
   * Statements outside a transaction, on a driver with many connections (PostgreSQL): each
   * takes a connection of the driver's pool for itself and gives it back when it ends.
   */
  readonly statements: SqlConnection.Connection | undefined
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

/**
 * PostgreSQL statements outside a transaction: one of pg's pooled connections per statement,
 * taken and given back in one callback chain, as `@effect/sql-pg` runs its own statements.
 * (`@effect/sql-pg` does not export that connection.) Reserving one through the client's
 * `reserve` for each statement (two asynchronous steps and a scope) cost 215-230 µs of CPU a
 * query through the `SqlClient` layer; this costs 125-160, the bare client's 110-140 (see
 * bench/db.ts). An interrupted statement (a query timeout, the pool stopping) is
 * cancelled on the server with `pg_cancel_backend`, best-effort and bounded, before its
 * connection goes back. Streams reserve a connection for their lifetime.
 */
const pgStatements = (pool: pg.Pool, inner: SqlClient.SqlClient): SqlConnection.Connection => {
  type Submit = (client: pg.PoolClient, callback: (error: Error | undefined, result: any) => void) => void
  const run = <A>(submit: Submit, done: (result: any) => A) =>
    Effect.async<A, SqlError>((resume) => {
      let client: pg.PoolClient | undefined
      let released = false
      const release = (error?: Error) => {
        if (released) return
        released = true
        if (client !== undefined) {
          client.off("error", onError)
          client.release(error)
        }
      }
      const onError = (cause: Error) => {
        release(cause)
        resume(Effect.fail(new SqlError({ cause, message: "Connection error" })))
      }
      pool.connect((cause, taken) => {
        // interrupted while waiting for a connection: give it straight back
        if (released) return taken?.release()
        if (cause !== undefined || taken === undefined) {
          released = true
          return resume(Effect.fail(new SqlError({ cause: cause ?? new Error("no client returned"), message: "Failed to acquire connection" })))
        }
        client = taken
        taken.once("error", onError)
        submit(taken, (error, result) => {
          if (released) return
          release()
          if (error) resume(Effect.fail(new SqlError({ cause: error, message: "Failed to execute statement" })))
          else resume(Effect.succeed(done(result)))
        })
      })
      return Effect.suspend(() => {
        const processId = (client as { processID?: number } | undefined)?.processID
        if (released || processId === undefined) {
          release()
          return Effect.void
        }
        return cancelBackend(pool, processId).pipe(Effect.ensuring(Effect.sync(() => release())))
      })
    })
  const statement = (sql: string, params: ReadonlyArray<unknown>): Submit => (client, callback) =>
    client.query(sql, params as Array<unknown>, callback)
  const rowsOf = (result: any) => (Array.isArray(result) ? result.map((r) => r.rows ?? []) : result.rows ?? [])
  const execute = (sql: string, params: ReadonlyArray<unknown>, transformRows: (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined) =>
    run(statement(sql, params), transformRows === undefined ? rowsOf : (result) => transformRows(rowsOf(result)))
  return {
    execute,
    executeRaw: (sql, params) => run(statement(sql, params), (result) => result),
    executeValues: (sql, params) =>
      run((client, callback) => client.query({ text: sql, values: params as Array<unknown>, rowMode: "array" }, callback), (result) => result.rows),
    executeUnprepared: execute,
    executeStream: (sql, params, transformRows) =>
      Stream.unwrapScoped(Effect.map(inner.reserve, (connection) => connection.executeStream(sql, params, transformRows)))
  }
}

/** Asks the server to cancel what a connection runs (best-effort: a failure or no answer in 5 s is ignored). */
const cancelBackend = (pool: pg.Pool, processId: number): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if ((pool as { ending?: boolean }).ending === true) return resume(Effect.void)
    pool.query("SELECT pg_cancel_backend($1)", [processId], () => resume(Effect.void))
  }).pipe(Effect.interruptible, Effect.timeoutOption("5 seconds"), Effect.asVoid)

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
        statements: undefined,
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
      statements: pgStatements(pool, inner),
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
