/**
 * What a query through a pool process can fail with. Schema classes, so that they can
 * cross the wire as the failure of a remote `call`.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"

/**
 * The database cannot be reached: the server went away, refused the connection or
 * dropped it mid-statement. The pool reconnects on its `reconnect` schedule; until then
 * every query fails at once with this error instead of waiting.
 *
 * @since 0.2.0
 * @category errors
 */
export class DatabaseUnavailable extends Schema.TaggedError<DatabaseUnavailable>()("rain/Database/DatabaseUnavailable", {
  pool: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Database pool "${this.pool}" cannot reach its database (${this.reason}). It reconnects on its own ` +
      `schedule: retry later, or check that the server is running and the connection settings are right.`
  }
}

/**
 * Every connection of the pool stayed busy for the whole acquire timeout.
 *
 * @since 0.2.0
 * @category errors
 */
export class PoolExhausted extends Schema.TaggedError<PoolExhausted>()("rain/Database/PoolExhausted", {
  pool: Schema.String,
  maxConnections: Schema.Number,
  millis: Schema.Number
}) {
  override get message(): string {
    return `Database pool "${this.pool}" had no free connection within ${this.millis}ms (all ${this.maxConnections} ` +
      `busy). Raise pool.maxConnections or pool.acquireTimeout, or shorten long transactions.`
  }
}

/**
 * The statement failed (bad SQL, a constraint, a type error) or its rows did not match
 * the result Schema. Only this query fails; the pool and its other queries go on.
 *
 * @since 0.2.0
 * @category errors
 */
export class QueryFailed extends Schema.TaggedError<QueryFailed>()("rain/Database/QueryFailed", {
  pool: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Query on database pool "${this.pool}" failed: ${this.reason}`
  }
}

/**
 * The query (waiting for a connection included) took longer than its timeout; it was
 * cancelled.
 *
 * @since 0.2.0
 * @category errors
 */
export class QueryTimeout extends Schema.TaggedError<QueryTimeout>()("rain/Database/QueryTimeout", {
  pool: Schema.String,
  millis: Schema.Number
}) {
  override get message(): string {
    return `Query on database pool "${this.pool}" did not finish within ${this.millis}ms and was cancelled. ` +
      `Pass a longer timeout to the statement, or make the query cheaper.`
  }
}

/**
 * The `Database` spec given to the pool is not usable; `init` fails with it.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidDatabaseSpec extends Schema.TaggedError<InvalidDatabaseSpec>()("rain/Database/InvalidDatabaseSpec", {
  pool: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `Database spec "${this.pool}" is invalid: ${this.problem}`
  }
}

/**
 * The pool could not start: the first connection or a migration failed.
 *
 * @since 0.2.0
 * @category errors
 */
export class DatabaseStartFailed extends Schema.TaggedError<DatabaseStartFailed>()("rain/Database/DatabaseStartFailed", {
  pool: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Database pool "${this.pool}" could not start: ${this.reason}`
  }
}

/**
 * What a query sent to a pool process may fail with, besides the query's own errors.
 *
 * @since 0.2.0
 * @category errors
 */
export type QueryError = DatabaseUnavailable | PoolExhausted | QueryFailed | QueryTimeout
