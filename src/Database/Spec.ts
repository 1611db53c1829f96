/**
 * What a database pool is: its driver, where the database is, the pool's limits, the
 * migrations to run at start and how to reconnect.
 *
 * @since 0.2.0
 */
import type { Loader } from "@effect/sql/Migrator"
import type { Duration, Redacted, Schedule } from "effect"

/**
 * Pool limits. Durations are `Duration.DurationInput`.
 *
 * @since 0.2.0
 * @category models
 */
export interface PoolOptions {
  /** Most connections open at once (default 10). SQLite always runs one connection. */
  readonly maxConnections?: number | undefined
  /** How long a query waits for a free connection before failing with `PoolExhausted` (default 5 s). */
  readonly acquireTimeout?: Duration.DurationInput | undefined
  /** An idle connection is closed after this long (default 30 s; PostgreSQL only). */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /** How long opening one connection may take (default 5 s; PostgreSQL only). */
  readonly connectTimeout?: Duration.DurationInput | undefined
}

/**
 * Fields every driver shares.
 *
 * @since 0.2.0
 * @category models
 */
export interface CommonSpec {
  /** The name the pool process registers under (default "db_pool"). */
  readonly name?: string | undefined
  readonly pool?: PoolOptions | undefined
  /** Migrations run at start, in order, through `@effect/sql`'s `Migrator` (e.g. `Migrator.fromRecord`). */
  readonly migrations?: Loader | undefined
  /** The table that records applied migrations (default "effect_sql_migrations"). */
  readonly migrationsTable?: string | undefined
  /** Default timeout of one query, waiting for a connection included (default 5 s, as a `call`'s). */
  readonly queryTimeout?: Duration.DurationInput | undefined
  /**
   * When the database is unreachable, how to retry reaching it (default: exponential from
   * 50 ms, at most every 2 s, forever). Queries fail with `DatabaseUnavailable` meanwhile.
   */
  readonly reconnect?: Schedule.Schedule<unknown, unknown> | undefined
}

/**
 * An embedded SQLite database (`@effect/sql-sqlite-node`): a file, or ":memory:".
 *
 * @since 0.2.0
 * @category models
 */
export interface SqliteSpec extends CommonSpec {
  readonly driver: "sqlite"
  readonly filename: string
  readonly readonly?: boolean | undefined
}

/**
 * A PostgreSQL database (`@effect/sql-pg`): a connection string (`url`, a DSN)
 * and/or its parts.
 *
 * @since 0.2.0
 * @category models
 */
export interface PostgresSpec extends CommonSpec {
  readonly driver: "postgres"
  /** `postgres://user:password@host:port/database` */
  readonly url?: string | undefined
  readonly host?: string | undefined
  readonly port?: number | undefined
  readonly database?: string | undefined
  readonly username?: string | undefined
  readonly password?: string | Redacted.Redacted | undefined
  readonly ssl?: boolean | undefined
  readonly applicationName?: string | undefined
}

/**
 * A database pool's spec.
 *
 * @example
 * ```ts
 * import type * as Database from "rain/Database"
 *
 * const spec: Database.Spec = {
 *   driver: "postgres",
 *   url: "postgres://app@127.0.0.1:5432/app",
 *   pool: { maxConnections: 10, acquireTimeout: "2 seconds" }
 * }
 * ```
 * @since 0.2.0
 * @category models
 */
export type Spec = SqliteSpec | PostgresSpec
