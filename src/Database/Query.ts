/**
 * The requests a pool process answers: a query (any Effect on the pool's `SqlClient`,
 * typically a `SqlSchema` statement with Schema-decoded rows), a transaction, and the
 * pool's figures. Processes send them with `ctx.call`, so the reply is typed.
 *
 * @since 0.2.0
 */
import * as SqlSchema from "@effect/sql/SqlSchema"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { Cause, Duration, ParseResult, Schema } from "effect"
import { Effect, Request } from "effect"
import type { Option } from "effect"
import type { QueryError } from "./errors.js"

/**
 * A query for a pool process: `run` gets the pool's `SqlClient` and runs in the pool,
 * cancelled after `timeout` (default: the spec's `queryTimeout`). Failures of the driver
 * arrive as `QueryError`s; the query's own errors as they are.
 *
 * @since 0.2.0
 * @category models
 */
export interface Query<A, E = never> extends Request.Request<A, E | QueryError> {
  readonly _tag: "rain/Database/Query"
  readonly run: (sql: SqlClient.SqlClient) => Effect.Effect<A, E | SqlError | ParseResult.ParseError | Cause.NoSuchElementException>
  readonly timeout: Duration.DurationInput | undefined
}

/**
 * Options of one query.
 *
 * @since 0.2.0
 * @category models
 */
export interface QueryOptions {
  /** Cancel the query (waiting for a connection included) after this long. */
  readonly timeout?: Duration.DurationInput | undefined
}

const makeQuery = Request.tagged<Query<any, any>>("rain/Database/Query")

/**
 * A query from any Effect on the pool's `SqlClient`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node } from "rain"
 * import * as Database from "rain/Database"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@localhost")
 *   const pool = yield* Database.start(node, { driver: "sqlite", filename: ":memory:" })
 *   const rows = yield* node.call(pool, Database.query((sql) => sql`SELECT count(*) AS n FROM todos`))
 * }))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const query = <A, E = never>(
  run: (sql: SqlClient.SqlClient) => Effect.Effect<A, E | SqlError | ParseResult.ParseError | Cause.NoSuchElementException>,
  options?: QueryOptions
): Query<A, Exclude<E, SqlError | ParseResult.ParseError | Cause.NoSuchElementException>> =>
  makeQuery({ run, timeout: options?.timeout }) as any

/**
 * A transaction: `run`'s statements share one connection and commit together, or roll
 * back together when `run` fails.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node } from "rain"
 * import * as Database from "rain/Database"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@localhost")
 *   const pool = yield* Database.start(node, { driver: "sqlite", filename: ":memory:" })
 *   yield* node.call(pool, Database.transaction((sql) =>
 *     Effect.zipRight(sql`UPDATE acct SET n = n - 1 WHERE id = 1`, sql`UPDATE acct SET n = n + 1 WHERE id = 2`)))
 * }))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const transaction = <A, E = never>(
  run: (sql: SqlClient.SqlClient) => Effect.Effect<A, E | SqlError | ParseResult.ParseError | Cause.NoSuchElementException>,
  options?: QueryOptions
): Query<A, Exclude<E, SqlError | ParseResult.ParseError | Cause.NoSuchElementException>> =>
  makeQuery({ run: (sql: SqlClient.SqlClient) => sql.withTransaction(run(sql)), timeout: options?.timeout }) as any

/**
 * What the statement constructors take: `SqlSchema`'s options, with the pool's client
 * handed to `execute`.
 *
 * @since 0.2.0
 * @category models
 */
export interface StatementOptions<IA, II, A, AI> {
  readonly Request: Schema.Schema<IA, II>
  readonly Result: Schema.Schema<A, AI>
  readonly execute: (request: II, sql: SqlClient.SqlClient) => Effect.Effect<ReadonlyArray<unknown>, SqlError>
}

/** Builds the `SqlSchema` function once per pool client (not per query). */
const perClient = <IA, R>(build: (sql: SqlClient.SqlClient) => (request: IA) => R) => {
  const cache = new WeakMap<SqlClient.SqlClient, (request: IA) => R>()
  return (sql: SqlClient.SqlClient): ((request: IA) => R) => {
    let f = cache.get(sql)
    if (f === undefined) {
      f = build(sql)
      cache.set(sql, f)
    }
    return f
  }
}

/**
 * A statement whose rows are decoded with `Result` (`SqlSchema.findAll`).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Node } from "rain"
 * import * as Database from "rain/Database"
 *
 * const Todo = Schema.Struct({ id: Schema.Number, title: Schema.String })
 * const openTodos = Database.findAll({
 *   Request: Schema.Void, Result: Todo,
 *   execute: (_, sql) => sql`SELECT id, title FROM todos WHERE done = 0`
 * })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@localhost")
 *   const pool = yield* Database.start(node, { driver: "sqlite", filename: ":memory:" })
 *   const todos = yield* node.call(pool, openTodos())   // ReadonlyArray<{ id, title }>
 * }))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const findAll = <IA, II, A, AI>(options: StatementOptions<IA, II, A, AI>) => {
  const resolve = perClient((sql) => SqlSchema.findAll({ ...options, execute: (request) => options.execute(request, sql) }))
  return (request: IA, queryOptions?: QueryOptions): Query<ReadonlyArray<A>> =>
    query((sql) => resolve(sql)(request), queryOptions)
}

/**
 * A statement returning its first row decoded with `Result`, if any (`SqlSchema.findOne`).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Node } from "rain"
 * import * as Database from "rain/Database"
 *
 * const Todo = Schema.Struct({ id: Schema.Number, title: Schema.String })
 * const byId = Database.findOne({
 *   Request: Schema.Number, Result: Todo,
 *   execute: (id, sql) => sql`SELECT id, title FROM todos WHERE id = ${id}`
 * })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@localhost")
 *   const pool = yield* Database.start(node, { driver: "sqlite", filename: ":memory:" })
 *   const todo = yield* node.call(pool, byId(1))   // Option<{ id, title }>
 * }))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const findOne = <IA, II, A, AI>(options: StatementOptions<IA, II, A, AI>) => {
  const resolve = perClient((sql) => SqlSchema.findOne({ ...options, execute: (request) => options.execute(request, sql) }))
  return (request: IA, queryOptions?: QueryOptions): Query<Option.Option<A>> =>
    query((sql) => resolve(sql)(request), queryOptions)
}

/**
 * A statement that must return a row (`SqlSchema.single`); none fails with `QueryFailed`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const single = <IA, II, A, AI>(options: StatementOptions<IA, II, A, AI>) => {
  const resolve = perClient((sql) => SqlSchema.single({ ...options, execute: (request) => options.execute(request, sql) }))
  return (request: IA, queryOptions?: QueryOptions): Query<A> => query((sql) => resolve(sql)(request), queryOptions)
}

/**
 * A statement run for its effect, its request encoded with `Request` (`SqlSchema.void`).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Node } from "rain"
 * import * as Database from "rain/Database"
 *
 * const addTodo = Database.execute({
 *   Request: Schema.String,
 *   execute: (title, sql) => sql`INSERT INTO todos (title) VALUES (${title})`
 * })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@localhost")
 *   const pool = yield* Database.start(node, { driver: "sqlite", filename: ":memory:" })
 *   yield* node.call(pool, addTodo("write the report"))
 * }))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const execute = <IA, II>(options: {
  readonly Request: Schema.Schema<IA, II>
  readonly execute: (request: II, sql: SqlClient.SqlClient) => Effect.Effect<unknown, SqlError>
}) => {
  const resolve = perClient((sql) => SqlSchema.void({ ...options, execute: (request) => options.execute(request, sql) }))
  return (request: IA, queryOptions?: QueryOptions): Query<void> => query((sql) => resolve(sql)(request), queryOptions)
}

/**
 * The pool's figures, as `Database.stats` and `Process.info` report them.
 *
 * @since 0.2.0
 * @category models
 */
export interface Figures {
  readonly pool: string
  readonly driver: "sqlite" | "postgres"
  readonly available: boolean
  /** Why the pool is unavailable (the last connection failure), or undefined. */
  readonly unavailableReason: string | undefined
  readonly maxConnections: number
  /** Connections open to the database. */
  readonly open: number
  /** Open connections no query is using. */
  readonly idle: number
  /** Connections checked out by queries and transactions. */
  readonly busy: number
  /** Queries waiting for a connection. */
  readonly waiting: number
  /** Connections handed out since the pool started. */
  readonly acquired: number
  readonly reconnects: number
}

/**
 * Asks a pool process for its figures (see `Database.Figures`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Stats extends Request.Request<Figures> {
  readonly _tag: "rain/Database/Stats"
}

/**
 * The request for the pool's figures: `ctx.call("db_pool", Database.stats)`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const stats: Stats = Request.tagged<Stats>("rain/Database/Stats")({})
