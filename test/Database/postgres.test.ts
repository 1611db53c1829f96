/**
 * The pool against a real PostgreSQL server (Debian's `postgresql`, started by
 * `test/fixtures/postgres.ts` in a temporary directory on a free loopback port).
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, layer } from "@effect/vitest"
import { Chunk, Context, Deferred, Effect, Fiber, Layer, Option, Schedule, Schema, Stream } from "effect"
import * as Database from "../../src/Database/index.js"
import { Node } from "../../src/index.js"
import type { Postgres } from "../fixtures/postgres.js"
import { startPostgres } from "../fixtures/postgres.js"

class Server extends Context.Tag("test/PostgresServer")<Server, Postgres>() {}
const serverLayer = Layer.scoped(Server, startPostgres())

class Item extends Schema.Class<Item>("Item")({ id: Schema.Number, name: Schema.String }) {}

const itemById = (table: string) =>
  Database.findOne({
    Request: Schema.Number,
    Result: Item,
    execute: (id, sql) => sql`SELECT id, name FROM ${sql(table)} WHERE id = ${id}`
  })

const createItems = (table: string) =>
  Migrator.fromRecord({
    "1_items": Effect.flatMap(
      SqlClient.SqlClient,
      (sql) => sql`CREATE TABLE ${sql(table)} (id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE)`
    )
  })

const specFor = (server: Postgres, extra: Partial<Database.PostgresSpec> = {}): Database.Spec => ({
  driver: "postgres",
  url: server.url,
  ...extra
})

/** Polls `f` every 50 ms until it returns true; fails with `what` after `millis`. */
const eventually = <E>(what: string, millis: number, f: Effect.Effect<boolean, E>) =>
  Effect.gen(function*() {
    const deadline = Date.now() + millis
    while (Date.now() < deadline) {
      if (yield* f) return
      yield* Effect.sleep("50 millis")
    }
    return yield* Effect.die(new Error(`timed out after ${millis}ms waiting for: ${what}`))
  })

layer(serverLayer, { timeout: 60_000, excludeTestServices: true })("Database on PostgreSQL", (it) => {
  it.scoped("migrations, typed calls, transactions and a bad statement that fails only its call", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const node = yield* Node.start("db@localhost")
      const pool = yield* Database.start(node, specFor(server, { name: "pg_main", migrations: createItems("items") }))
      yield* node.call(pool, Database.query((sql) => sql`INSERT INTO items (name) VALUES ('bolt'), ('nut')`))
      const nut = yield* node.call(pool, itemById("items")(2))
      assert.deepStrictEqual(nut, Option.some(new Item({ id: 2, name: "nut" })))
      const duplicate = yield* Effect.flip(
        node.call(
          pool,
          Database.transaction((sql) => Effect.zipRight(sql`INSERT INTO items (name) VALUES ('washer')`, sql`INSERT INTO items (name) VALUES ('bolt')`))
        )
      )
      assert.strictEqual(duplicate._tag, "rain/Database/QueryFailed")
      assert.include(duplicate.message, "duplicate key")
      const names = yield* node.call(pool, Database.query((sql) => sql<{ name: string }>`SELECT name FROM items ORDER BY id`))
      assert.deepStrictEqual(names.map((r) => r.name), ["bolt", "nut"], "the failed transaction was rolled back")
      const bad = yield* Effect.flip(node.call(pool, Database.query((sql) => sql`SELECT * FROM no_such_table`)))
      assert.include(bad.message, "no_such_table")
      const figures = yield* node.call(pool, Database.stats)
      assert.include(figures, { driver: "postgres", available: true, busy: 0, waiting: 0, maxConnections: 10 })
      assert.isAtLeast(figures.open, 1)
      assert.strictEqual(figures.open, figures.idle)
    }))

  it.scoped("pool exhaustion waits up to the acquire timeout, then fails with PoolExhausted", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const node = yield* Node.start("db@localhost")
      const pool = yield* Database.start(
        node,
        specFor(server, { name: "pg_small", pool: { maxConnections: 2, acquireTimeout: "300 millis" } })
      )
      const release = yield* Deferred.make<void>()
      const held = yield* Deferred.make<void>()
      let holding = 0
      const hold = Database.transaction(
        (sql) =>
          sql`SELECT 1`.pipe(
            Effect.zipRight(Effect.sync(() => ++holding === 2 && Deferred.unsafeDone(held, Effect.void))),
            Effect.zipRight(Deferred.await(release))
          ),
        { timeout: "20 seconds" }
      )
      const holders = yield* Effect.forkAll([node.call(pool, hold, "infinity"), node.call(pool, hold, "infinity")])
      yield* Deferred.await(held)
      const started = Date.now()
      const third = yield* Effect.fork(node.call(pool, Database.query((sql) => sql`SELECT 1`)))
      yield* eventually("the third query to wait", 2_000, Effect.map(node.call(pool, Database.stats), (f) => f.waiting === 1))
      const figures = yield* node.call(pool, Database.stats)
      assert.include(figures, { open: 2, busy: 2, idle: 0, waiting: 1 })
      const error = yield* Effect.flip(Fiber.join(third))
      const waited = Date.now() - started
      assert.strictEqual(error._tag, "rain/Database/PoolExhausted")
      assert.isAtLeast(waited, 250)
      assert.isBelow(waited, 3_000)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holders)
      assert.strictEqual((yield* node.call(pool, Database.query((sql) => sql<{ n: number }>`SELECT 1 AS n`)))[0]?.n, 1)
    }))

  it.scoped("the SqlClient layer shares the pool's connections and limits", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const node = yield* Node.start("db@localhost")
      const spec = specFor(server, { name: "pg_layer", pool: { maxConnections: 1, acquireTimeout: "200 millis" } })
      const pool = yield* Database.start(node, spec)
      const inLayer = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
        effect.pipe(Effect.provide(Database.layer(spec)), Effect.provideService(Node.Node, node))
      const release = yield* Deferred.make<void>()
      const held = yield* Deferred.make<void>()
      // The layer's transaction holds the only connection: the process door must wait, then give up.
      const holder = yield* Effect.fork(inLayer(Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.withTransaction(sql`SELECT 1`.pipe(Effect.zipRight(Deferred.succeed(held, undefined)), Effect.zipRight(Deferred.await(release)))))))
      yield* Deferred.await(held)
      assert.include(yield* node.call(pool, Database.stats), { busy: 1, open: 1 })
      const error = yield* Effect.flip(node.call(pool, Database.query((sql) => sql`SELECT 1`)))
      assert.strictEqual(error._tag, "rain/Database/PoolExhausted")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      const rows = yield* inLayer(Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: number }>`SELECT 41 + 1 AS n`))
      assert.strictEqual(rows[0]?.n, 42)
    }))

  it.scoped("a statement past its query timeout is cancelled on the server; values, raw results and streams still work", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const node = yield* Node.start("db@localhost")
      const spec = specFor(server, { name: "pg_cancel", pool: { maxConnections: 2 } })
      const pool = yield* Database.start(node, spec)
      const error = yield* Effect.flip(
        node.call(pool, Database.query((sql) => sql`SELECT pg_sleep(30)`, { timeout: "300 millis" }), "10 seconds")
      )
      assert.strictEqual(error._tag, "rain/Database/QueryTimeout")
      // the server stops running it (pg_cancel_backend), rather than holding a connection for 30 s
      yield* eventually(
        "the sleeping statement to leave pg_stat_activity",
        5000,
        Effect.map(
          node.call(pool, Database.query((sql) =>
            sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'`
          )),
          (rows) => rows[0]?.n === 0
        )
      )
      assert.include(yield* node.call(pool, Database.stats), { busy: 0, waiting: 0 })
      const inLayer = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) =>
        effect.pipe(Effect.provide(Database.layer(spec)), Effect.provideService(Node.Node, node))
      const values = yield* inLayer(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1 AS a, 'x' AS b`.values))
      assert.deepStrictEqual(values, [[1, "x"]])
      const raw = yield* inLayer(Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 2 AS a`.raw))
      assert.strictEqual((raw as { rowCount?: number }).rowCount, 1)
      const streamed = yield* inLayer(Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Stream.runCollect(sql<{ n: number }>`SELECT generate_series(1, 300) AS n`.stream)))
      assert.strictEqual(Chunk.size(streamed), 300)
      assert.include(yield* node.call(pool, Database.stats), { busy: 0, waiting: 0 })
    }))

  it.scoped("idle connections close after the idle timeout", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const node = yield* Node.start("db@localhost")
      const pool = yield* Database.start(node, specFor(server, { name: "pg_idle", pool: { idleTimeout: "200 millis" } }))
      yield* Effect.all(
        Array.from({ length: 3 }, () => node.call(pool, Database.query((sql) => sql`SELECT pg_sleep(0.05)`))),
        { concurrency: "unbounded" }
      )
      assert.strictEqual((yield* node.call(pool, Database.stats)).open, 3)
      yield* eventually("idle connections to close", 5_000, Effect.map(node.call(pool, Database.stats), (f) => f.open === 0))
      assert.include(yield* node.call(pool, Database.stats), { idle: 0, busy: 0 })
    }))

  it.scoped("an unreachable server fails the start with DatabaseStartFailed", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("db@localhost")
      const exit = yield* Effect.exit(
        Database.start(node, { driver: "postgres", url: "postgres://postgres@127.0.0.1:1/none", name: "pg_nowhere" })
      )
      assert.strictEqual(exit._tag, "Failure")
      assert.include(String(exit._tag === "Failure" && exit.cause), "could not start")
      assert.include(String(exit._tag === "Failure" && exit.cause), "ECONNREFUSED")
    }))
})

layer(serverLayer, { timeout: 60_000, excludeTestServices: true })("Database when PostgreSQL goes away", (it) => {
  it.scoped("queries fail with DatabaseUnavailable, nothing hangs, and the pool reconnects when the server is back", () =>
    Effect.gen(function*() {
      const server = yield* Server
      const node = yield* Node.start("db@localhost")
      const pool = yield* Database.start(
        node,
        specFor(server, { name: "pg_flaky", reconnect: Schedule.spaced("100 millis"), pool: { connectTimeout: "2 seconds" } })
      )
      const one = Database.query((sql) => sql<{ n: number }>`SELECT 1 AS n`, { timeout: "3 seconds" })
      assert.strictEqual((yield* node.call(pool, one))[0]?.n, 1)
      // A query in flight when the server stops ends with the error, not at its (long) timeout.
      const inFlight = yield* Effect.fork(
        node.call(pool, Database.query((sql) => sql`SELECT pg_sleep(30)`, { timeout: "30 seconds" }), "infinity")
      )
      yield* eventually("the long query to run", 5_000, Effect.map(node.call(pool, Database.stats), (f) => f.busy === 1))
      const stoppedAt = Date.now()
      yield* server.stop
      const lost = yield* Effect.flip(Fiber.join(inFlight))
      assert.strictEqual(lost._tag, "rain/Database/DatabaseUnavailable")
      assert.isBelow(Date.now() - stoppedAt, 10_000)
      // While it is down: every query fails fast, saying so.
      const t = Date.now()
      const down = yield* Effect.flip(node.call(pool, one))
      assert.strictEqual(down._tag, "rain/Database/DatabaseUnavailable")
      assert.include(down.message, "reconnects")
      assert.isBelow(Date.now() - t, 3_000)
      const figures = yield* node.call(pool, Database.stats)
      assert.isFalse(figures.available)
      assert.isDefined(figures.unavailableReason)
      // Back: the reconnect schedule finds it, and queries work again.
      yield* server.start
      yield* eventually(
        "the pool to reconnect",
        15_000,
        Effect.map(node.call(pool, Database.stats), (f) => f.available)
      )
      assert.strictEqual((yield* node.call(pool, one))[0]?.n, 1)
      assert.isAtLeast((yield* node.call(pool, Database.stats)).reconnects, 1)
      assert.strictEqual(Option.getOrThrow(yield* node.info(pool)).status === "dead", false, "the pool process lived through it")
    }))
})
