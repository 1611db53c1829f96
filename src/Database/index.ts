/**
 * Database pools as processes, on `@effect/sql`: SQLite (`@effect/sql-sqlite-node`,
 * embedded) and PostgreSQL (`@effect/sql-pg`). One pool, two doors: processes query it by
 * typed calls (`ctx.call(pool, Database.findOne(...)(id))`), Effect code outside
 * processes gets the same pool as a `SqlClient` layer (`Database.layer(spec)`).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Node } from "rain"
 * import * as Database from "rain/Database"
 *
 * const spec: Database.Spec = { driver: "sqlite", filename: ":memory:" }
 * const Todo = Schema.Struct({ id: Schema.Number, title: Schema.String })
 * const byId = Database.findOne({
 *   Request: Schema.Number, Result: Todo,
 *   execute: (id, sql) => sql`SELECT id, title FROM todos WHERE id = ${id}`
 * })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@localhost")
 *   const pool = yield* Database.start(node, spec)         // registered as "db_pool"
 *   const todo = yield* node.call(pool, byId(1))            // Option<{ id, title }>
 * }))
 * ```
 * @since 0.2.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlConnection from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import { Effect, Layer } from "effect"
import type { Behaviour, SpawnOptions } from "../Process/Behaviour.js"
import type { SpawnError } from "../Process/errors.js"
import type { Ref } from "../Process/Pid.js"
import type { ChildSpec } from "../Supervisor/Spec.js"
import type { NodeService } from "../Node/index.js"
import { Node } from "../Node/index.js"
import type { DatabaseStartFailed, InvalidDatabaseSpec } from "./errors.js"
import type { Query, Stats } from "./Query.js"
import { compilerOf } from "./internal/driver.js"
import type { Guard } from "./internal/guard.js"
import * as internal from "./internal/pool.js"
import type { Spec } from "./Spec.js"

/**
 * The Database errors (`QueryFailed`, `QueryTimeout`, `PoolExhausted`, `DatabaseUnavailable`, ...).
 *
 * @since 0.2.0
 * @category errors
 */
export * from "./errors.js"
/**
 * Typed statements and queries (`findAll`, `findOne`, `single`, `execute`, `query`, `transaction`).
 *
 * @since 0.2.0
 * @category queries
 */
export * from "./Query.js"
export type {
  /**
   * Re-exported from `./Spec`.
   *
   * @since 0.2.0
   * @category models
   */
  CommonSpec,
  /**
   * Re-exported from `./Spec`.
   *
   * @since 0.2.0
   * @category models
   */
  PoolOptions,
  /**
   * Re-exported from `./Spec`.
   *
   * @since 0.2.0
   * @category models
   */
  PostgresSpec,
  /**
   * Re-exported from `./Spec`.
   *
   * @since 0.2.0
   * @category models
   */
  Spec,
  /**
   * Re-exported from `./Spec`.
   *
   * @since 0.2.0
   * @category models
   */
  SqliteSpec
} from "./Spec.js"

/**
 * The requests a pool process answers.
 *
 * @since 0.2.0
 * @category models
 */
export type Request = Query<any, any> | Stats

/**
 * A pool process's reference, typed with its requests.
 *
 * @since 0.2.0
 * @category models
 */
export type Pool = Ref<never, Request>

/**
 * The gauges every pool updates (once a second and at each `stats` or `info` read), tagged
 * with `node` and `pool`: connections open, idle, busy, and queries waiting.
 *
 * @example
 * ```ts
 * import { Effect, Metric, MetricLabel } from "effect"
 * import * as Database from "rain/Database"
 *
 * const open = Metric.value(Database.metrics.open.pipe(
 *   Metric.taggedWithLabels([MetricLabel.make("node", "app@localhost"), MetricLabel.make("pool", "db_pool")])))
 * const program = Effect.map(open, (state) => state.value)
 * ```
 * @since 0.2.0
 * @category metrics
 */
export const metrics = internal.gauges

/**
 * The pool's behaviour: spawn it with a `Spec` as its argument (`node.spawn`,
 * `ctx.spawn`, or a supervisor child). `init` connects, runs the migrations, and fails
 * with `InvalidDatabaseSpec` or `DatabaseStartFailed`; `terminate` closes the connections.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node } from "rain"
 * import * as Database from "rain/Database"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@localhost")
 *   const pool = yield* node.spawn(Database.behaviour, { driver: "sqlite", filename: "app.db" }, { name: "db_pool" })
 * }))
 * ```
 * @since 0.2.0
 * @category behaviours
 */
export const behaviour: Behaviour<any, Spec, never, Request, InvalidDatabaseSpec | DatabaseStartFailed> =
  internal.behaviour

/**
 * Spawns a pool on `node`, registered under the spec's `name` (default "db_pool").
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node } from "rain"
 * import * as Database from "rain/Database"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@localhost")
 *   const pool = yield* Database.start(node, {
 *     driver: "postgres",
 *     url: "postgres://app@127.0.0.1/app",
 *     pool: { maxConnections: 10 }
 *   })
 * }))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const start = (node: NodeService, spec: Spec, options?: SpawnOptions): Effect.Effect<Pool, SpawnError> =>
  node.spawn(behaviour, spec, { name: internal.nameOf(spec), ...options })

/**
 * The pool as a supervisor child: its id and registered name are the spec's `name`.
 *
 * @example
 * ```ts
 * import { Supervisor } from "rain"
 * import * as Database from "rain/Database"
 *
 * const spec: Database.Spec = { driver: "sqlite", filename: "app.db" }
 * const tree = Supervisor.oneForOne().pipe(Supervisor.child(Database.child(spec)))
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const child = (spec: Spec, options?: Partial<Omit<ChildSpec<Spec>, "behaviour" | "args">>): ChildSpec<Spec> => ({
  id: internal.nameOf(spec),
  name: internal.nameOf(spec),
  shutdown: 5_000,
  ...options,
  behaviour,
  args: spec
})

/**
 * The pool named by `spec` on the node in context, as a `SqlClient`: Effect code outside
 * processes shares the process's connections, limits and figures. It follows the pool
 * across restarts; while no such pool runs, statements fail with a `SqlError` saying so.
 *
 * @example
 * ```ts
 * import * as SqlClient from "@effect/sql/SqlClient"
 * import { Effect } from "effect"
 * import { Node } from "rain"
 * import * as Database from "rain/Database"
 *
 * const spec: Database.Spec = { driver: "sqlite", filename: ":memory:" }
 * const count = Effect.gen(function*() {
 *   const sql = yield* SqlClient.SqlClient
 *   return yield* sql`SELECT count(*) AS n FROM todos`
 * })
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const node = yield* Node.start("app@localhost")
 *   yield* Database.start(node, spec)
 *   const rows = yield* count.pipe(Effect.provide(Database.layer(spec)), Effect.provideService(Node.Node, node))
 * }))
 * ```
 * @since 0.2.0
 * @category layers
 */
export const layer = (spec: Spec): Layer.Layer<SqlClient.SqlClient, never, Node> =>
  Layer.effect(
    SqlClient.SqlClient,
    Effect.gen(function*() {
      const node = yield* Node
      const name = internal.nameOf(spec)
      const key = internal.keyOf(node.name, node.creation, name)
      const via = (acquire: (guard: Guard) => SqlConnection.Connection.Acquirer) =>
        Effect.suspend(() => {
          const guard = internal.lookup(key)
          return guard === undefined
            ? Effect.fail(
              new SqlError({
                message: `No database pool "${name}" runs on node ${node.name}: start it (Database.start or a ` +
                  `supervisor child) before using its SqlClient layer.`
              })
            )
            : acquire(guard)
        })
      return yield* SqlClient.make({
        acquirer: via((guard) => guard.acquire),
        transactionAcquirer: via((guard) => guard.acquireTransaction),
        compiler: compilerOf(spec),
        spanAttributes: [["db.system.name", spec.driver === "sqlite" ? "sqlite" : "postgresql"], ["rain.pool", name]]
      }).pipe(Effect.provide(Reactivity.layer))
    })
  )
