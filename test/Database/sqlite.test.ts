import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Deferred, Effect, Exit, Fiber, Metric, MetricLabel, Option, Schema, TestClock } from "effect"
import * as Database from "../../src/Database/index.js"
import { Node, Process, Supervisor, Testing } from "../../src/index.js"

const BooleanFromInteger = Schema.transform(Schema.Number, Schema.Boolean, {
  strict: true,
  decode: (n) => n !== 0,
  encode: (b) => (b ? 1 : 0)
})

class Todo extends Schema.Class<Todo>("Todo")({
  id: Schema.Number,
  title: Schema.String,
  done: BooleanFromInteger
}) {}

const migrations = Migrator.fromRecord({
  "1_create_todos": Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`CREATE TABLE todos (id INTEGER PRIMARY KEY, title TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0)`
  ),
  "2_seed": Effect.flatMap(SqlClient.SqlClient, (sql) => sql`INSERT INTO todos (title) VALUES ('first')`)
})

const memory = (extra: Partial<Database.SqliteSpec> = {}): Database.Spec => ({
  driver: "sqlite",
  filename: ":memory:",
  migrations,
  ...extra
})

const addTodo = Database.execute({
  Request: Schema.String,
  execute: (title, sql) => sql`INSERT INTO todos (title) VALUES (${title})`
})
const allTodos = Database.findAll({
  Request: Schema.Void,
  Result: Todo,
  execute: (_, sql) => sql`SELECT * FROM todos ORDER BY id`
})
const todoById = Database.findOne({
  Request: Schema.Number,
  Result: Todo,
  execute: (id, sql) => sql`SELECT * FROM todos WHERE id = ${id}`
})
const todoExactly = Database.single({
  Request: Schema.Number,
  Result: Todo,
  execute: (id, sql) => sql`SELECT * FROM todos WHERE id = ${id}`
})

describe("Database on SQLite", () => {
  it.scoped("migrations run at start; typed calls return Schema-decoded rows", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pool = yield* Database.start(env.node, memory())
      assert.deepStrictEqual(yield* env.node.whereis("db_pool"), Option.some(pool))
      yield* env.node.call(pool, addTodo("second"))
      const todos = yield* env.node.call(pool, allTodos(undefined))
      assert.deepStrictEqual(todos, [new Todo({ id: 1, title: "first", done: false }), new Todo({ id: 2, title: "second", done: false })])
      const found = yield* env.node.call("db_pool", todoById(2))
      assert.isTrue(Option.isSome(found) && found.value instanceof Todo && found.value.title === "second")
      assert.isTrue(Option.isNone(yield* env.node.call(pool, todoById(99))))
      const missing = yield* Effect.flip(env.node.call(pool, todoExactly(99)))
      assert.strictEqual(missing._tag, "rain/Database/QueryFailed")
      assert.include(missing.message, "no row")
    }))

  it.scoped("a process queries the pool with ctx.call", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      yield* Database.start(env.node, memory())
      const Client = Process.make({
        name: "Client",
        init: () => Effect.succeed(0),
        handleCall: (_: "count", _from, state, ctx) =>
          Effect.map(ctx.call("db_pool", allTodos(undefined)), (todos) => Process.reply(todos.length, state))
      })
      const client = yield* env.node.spawn(Client, undefined)
      assert.strictEqual(yield* env.node.call(client, "count"), 1)
    }))

  it.scoped("a transaction commits together or rolls back together", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pool = yield* Database.start(env.node, memory())
      yield* env.node.call(
        pool,
        Database.transaction((sql) => Effect.zipRight(sql`INSERT INTO todos (title) VALUES ('a')`, sql`INSERT INTO todos (title) VALUES ('b')`))
      )
      class Oops extends Schema.TaggedError<Oops>()("Oops", {}) {}
      const failed = yield* Effect.flip(
        env.node.call(pool, Database.transaction((sql) => Effect.zipRight(sql`INSERT INTO todos (title) VALUES ('c')`, new Oops())))
      )
      assert.strictEqual(failed._tag, "Oops", "the query's own error reaches the caller as it is")
      const titles = (yield* env.node.call(pool, allTodos(undefined))).map((t) => t.title)
      assert.deepStrictEqual(titles, ["first", "a", "b"])
    }))

  it.scoped("a bad statement or rows that do not decode fail only that call", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pool = yield* Database.start(env.node, memory())
      const bad = yield* Effect.flip(env.node.call(pool, Database.query((sql) => sql`SELEC nonsense`)))
      assert.strictEqual(bad._tag, "rain/Database/QueryFailed")
      assert.include(bad.message, "syntax error")
      const wrongShape = Database.findAll({
        Request: Schema.Void,
        Result: Schema.Struct({ id: Schema.String }),
        execute: (_, sql) => sql`SELECT id FROM todos`
      })
      const undecodable = yield* Effect.flip(env.node.call(pool, wrongShape(undefined)))
      assert.strictEqual(undecodable._tag, "rain/Database/QueryFailed")
      assert.include(undecodable.message, "do not match the result schema")
      assert.strictEqual((yield* env.node.call(pool, allTodos(undefined))).length, 1, "the pool goes on")
      assert.strictEqual(Option.getOrThrow(yield* env.node.info(pool)).status !== "dead", true)
    }))

  it.scoped("pool exhaustion waits up to the acquire timeout, then fails with PoolExhausted; info shows the figures", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pool = yield* Database.start(env.node, memory({ pool: { acquireTimeout: "1 second" }, queryTimeout: "1 minute" }))
      const holding = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const long = yield* Effect.fork(
        env.node.call(
          pool,
          Database.transaction((sql) =>
            sql`INSERT INTO todos (title) VALUES ('held')`.pipe(
              Effect.zipRight(Deferred.succeed(holding, undefined)),
              Effect.zipRight(Deferred.await(release))
            )
          ),
          "infinity"
        )
      )
      yield* Deferred.await(holding)
      const waiting = yield* Effect.fork(env.node.call(pool, allTodos(undefined)))
      let info = Option.getOrThrow(yield* env.node.info(pool))
      for (let i = 0; i < 100 && (info.detail as Database.Figures).waiting === 0; i++) {
        yield* Effect.yieldNow()
        info = Option.getOrThrow(yield* env.node.info(pool))
      }
      const figures = info.detail as Database.Figures
      assert.strictEqual(info.behaviour, "Database")
      assert.include(figures, { open: 1, idle: 0, busy: 1, waiting: 1, maxConnections: 1, available: true })
      yield* TestClock.adjust("999 millis")
      assert.isNull(waiting.unsafePoll(), "still waiting within the acquire timeout")
      yield* TestClock.adjust("1 millis")
      const exhausted = yield* Effect.flip(Fiber.join(waiting))
      assert.strictEqual(exhausted._tag, "rain/Database/PoolExhausted")
      assert.include(exhausted.message, "within 1000ms")
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(long)
      const after = yield* env.node.call(pool, Database.stats)
      assert.include(after, { busy: 0, idle: 1, waiting: 0 })
      const open = yield* Metric.value(
        Database.metrics.open.pipe(
          Metric.taggedWithLabels([MetricLabel.make("node", env.node.name), MetricLabel.make("pool", "db_pool")])
        )
      )
      assert.strictEqual(open.value, 1, "the figures feed Effect's metrics")
    }))

  it.scoped("a query past its timeout is cancelled and its caller gets QueryTimeout", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pool = yield* Database.start(env.node, memory())
      const slow = yield* Effect.fork(
        env.node.call(pool, Database.query((sql) => Effect.zipRight(Effect.sleep("10 seconds"), sql`SELECT 1`), { timeout: "2 seconds" }))
      )
      yield* TestClock.adjust("2 seconds")
      const error = yield* Effect.flip(Fiber.join(slow))
      assert.strictEqual(error._tag, "rain/Database/QueryTimeout")
      assert.include(yield* env.node.call(pool, Database.stats), { busy: 0, waiting: 0 })
    }))

  it.scoped("concurrent queries each answer their own caller; a query that dies fails only its call with QueryFailed", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pool = yield* Database.start(env.node, memory())
      const gate = yield* Deferred.make<void>()
      // The first query waits on the gate; the others pass it on the pool's one connection in turn.
      const waiting = yield* Effect.fork(
        env.node.call(pool, Database.query(() => Effect.as(Deferred.await(gate), "gated")))
      )
      const answers = yield* Effect.fork(
        Effect.forEach([1, 2, 3], (i) => env.node.call(pool, Database.query(() => Effect.succeed(i * 10))), {
          concurrency: "unbounded"
        })
      )
      const died = yield* Effect.flip(env.node.call(pool, Database.query(() => Effect.die(new Error("boom")))))
      assert.strictEqual(died._tag, "rain/Database/QueryFailed")
      assert.include(died.message, "the query died")
      assert.include(died.message, "boom")
      assert.deepStrictEqual(yield* Fiber.join(answers), [10, 20, 30])
      assert.isNull(waiting.unsafePoll(), "the gated query is still running")
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(yield* Fiber.join(waiting), "gated")
      assert.include(yield* env.node.call(pool, Database.stats), { busy: 0, waiting: 0 })
    }))

  it.scoped("a query running when the pool stops is interrupted, and its caller hears that the pool exited", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pool = yield* Database.start(env.node, memory())
      const started = yield* Deferred.make<void>()
      const interrupted = yield* Deferred.make<void>()
      const running = yield* Effect.fork(
        env.node.call(
          pool,
          Database.query(() =>
            Deferred.succeed(started, undefined).pipe(
              Effect.zipRight(Effect.never),
              Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
            )
          ),
          "infinity"
        )
      )
      yield* Deferred.await(started)
      yield* env.node.exit(pool, Process.ExitReason.shutdown)
      const error = yield* Effect.flip(Fiber.join(running))
      assert.strictEqual(error._tag, "ProcessExited", `the caller is told the pool exited, not ${error._tag}`)
      yield* Deferred.await(interrupted)
    }))

  it.scoped("the SqlClient layer is the same pool: same data, same figures", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const spec = memory()
      const pool = yield* Database.start(env.node, spec)
      const before = (yield* env.node.call(pool, Database.stats)).acquired
      const rows = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO todos (title) VALUES ('from the layer')`
        return yield* sql<{ title: string }>`SELECT title FROM todos ORDER BY id`
      }).pipe(Effect.provide(Database.layer(spec)), Effect.provideService(Node.Node, env.node))
      assert.deepStrictEqual(rows.map((r) => r.title), ["first", "from the layer"])
      assert.strictEqual((yield* env.node.call(pool, allTodos(undefined))).length, 2)
      assert.strictEqual((yield* env.node.call(pool, Database.stats)).acquired, before + 3, "2 by the layer, 1 by the call")
      const other = yield* Effect.flip(
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1`).pipe(
          Effect.provide(Database.layer({ ...spec, name: "not_started" })),
          Effect.provideService(Node.Node, env.node)
        )
      )
      assert.include(other.message, "No database pool \"not_started\" runs")
    }))

  it.scoped("a bad spec fails the spawn with a message saying what to fix", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const noFile = yield* Effect.exit(Database.start(env.node, { driver: "sqlite", filename: "" }))
      assert.isTrue(Exit.isFailure(noFile))
      assert.include(String(Exit.isFailure(noFile) && noFile.cause), "needs a filename")
      const badMax = yield* Effect.exit(Database.start(env.node, memory({ pool: { maxConnections: 0 } })))
      assert.include(String(Exit.isFailure(badMax) && badMax.cause), "pool.maxConnections must be a whole number")
      const badDriver = yield* Effect.exit(Database.start(env.node, { driver: "oracle" } as any))
      assert.include(String(Exit.isFailure(badDriver) && badDriver.cause), "unknown driver \"oracle\"")
      const badMigration = yield* Effect.exit(
        Database.start(env.node, memory({
          migrations: Migrator.fromRecord({ "1_broken": Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE (`) })
        }))
      )
      assert.include(String(Exit.isFailure(badMigration) && badMigration.cause), "migration failed")
      assert.isTrue(Option.isNone(yield* env.node.whereis("db_pool")), "nothing is left registered")
    }))

  it.scoped("as a supervisor child it is restarted, and the layer follows the new process", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "rain-db-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const env = yield* Testing.make()
      const spec: Database.Spec = { driver: "sqlite", filename: join(dir, "todos.db"), migrations, name: "todos" }
      const sup = yield* Supervisor.start(env.node, Supervisor.oneForOne().pipe(Supervisor.child(Database.child(spec))))
      const first = Option.getOrThrow(yield* env.node.whereis("todos"))
      yield* env.node.call("todos", addTodo("kept"))
      yield* env.node.exit(first, Process.ExitReason.kill)
      let second = Option.none<Process.Pid>()
      for (let i = 0; i < 100 && (Option.isNone(second) || second.value === first); i++) {
        yield* Effect.yieldNow()
        second = yield* env.node.whereis("todos")
      }
      assert.isTrue(Option.isSome(second) && second.value !== first, "restarted under its name")
      const titles = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ title: string }>`SELECT title FROM todos ORDER BY id`).pipe(
        Effect.provide(Database.layer(spec)),
        Effect.provideService(Node.Node, env.node)
      )
      assert.deepStrictEqual(titles.map((r) => r.title), ["first", "kept"], "migrations ran once; data survived")
      assert.strictEqual((yield* Supervisor.whichChildren(env.node, sup))[0]?.id, "todos")
    }))
})
