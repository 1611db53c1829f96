/**
 * A process-backed todo list on SQLite (no server to set up): a supervisor starts the
 * database pool (its migration creates the table) and a TodoList process that keeps no
 * state of its own and asks the pool with typed calls; plain Effect code reads the same
 * pool through its `SqlClient` layer.
 *
 *   npx tsx examples/db.ts
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { Console, Effect, Option, Schema } from "effect"
import { Database, Node, Process, Supervisor } from "rain"

class Todo extends Schema.Class<Todo>("Todo")({
  id: Schema.Number,
  title: Schema.String,
  done: Schema.transform(Schema.Number, Schema.Boolean, { strict: true, decode: (n) => n !== 0, encode: (b) => (b ? 1 : 0) })
}) {}

// The statements, with Schema-decoded rows.
const insertTodo = Database.single({
  Request: Schema.String,
  Result: Todo,
  execute: (title, sql) => sql`INSERT INTO todos (title) VALUES (${title}) RETURNING *`
})
const markDone = Database.findOne({
  Request: Schema.Number,
  Result: Todo,
  execute: (id, sql) => sql`UPDATE todos SET done = 1 WHERE id = ${id} RETURNING *`
})
const listTodos = Database.findAll({
  Request: Schema.Void,
  Result: Todo,
  execute: (_, sql) => sql`SELECT * FROM todos ORDER BY id`
})

// The TodoList's protocol.
class Add extends Schema.TaggedRequest<Add>()("Add", { failure: Schema.Never, success: Todo, payload: { title: Schema.String } }) {}
class Done extends Schema.TaggedRequest<Done>()("Done", {
  failure: Schema.Never,
  success: Schema.Option(Todo),
  payload: { id: Schema.Number }
}) {}
class List extends Schema.TaggedRequest<List>()("List", { failure: Schema.Never, success: Schema.Array(Todo), payload: {} }) {}

const TodoList = Process.make({
  name: "TodoList",
  init: () => Effect.succeed("db_pool"),
  handleCall: (request: Add | Done | List, _from, pool, ctx) => {
    switch (request._tag) {
      case "Add":
        return Effect.map(ctx.call(pool, insertTodo(request.title)), (todo) => Process.reply(todo, pool))
      case "Done":
        return Effect.map(ctx.call(pool, markDone(request.id)), (todo) => Process.reply(todo, pool))
      case "List":
        return Effect.map(ctx.call(pool, listTodos()), (todos) => Process.reply(todos, pool))
    }
  }
})

const database: Database.Spec = {
  driver: "sqlite",
  filename: ":memory:",
  pool: { acquireTimeout: "2 seconds" },
  migrations: Migrator.fromRecord({
    "1_create_todos": Effect.flatMap(
      SqlClient.SqlClient,
      (sql) => sql`CREATE TABLE todos (id INTEGER PRIMARY KEY, title TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0)`
    )
  })
}

const tree = Supervisor.oneForOne().pipe(
  Supervisor.child(Database.child(database)),
  Supervisor.child({ id: "todos", behaviour: TodoList, args: undefined, name: "todos" })
)

Node.runMain("todo@localhost", {}, (node) =>
  Effect.gen(function*() {
    yield* Supervisor.start(node, tree)
    const milk = yield* node.call("todos", new Add({ title: "buy milk" }))
    yield* node.call("todos", new Add({ title: "write the report" }))
    yield* node.call("todos", new Done({ id: milk.id }))
    for (const todo of yield* node.call("todos", new List())) {
      yield* Console.log(`${todo.done ? "[x]" : "[ ]"} ${todo.id}. ${todo.title}`)
    }
    const missing = yield* node.call("todos", new Done({ id: 42 }))
    yield* Console.log("todo 42:", Option.isNone(missing) ? "no such todo" : "found")

    // The same pool from plain Effect code, as a SqlClient.
    const open = yield* Effect.flatMap(
      SqlClient.SqlClient,
      (sql) => sql<{ n: number }>`SELECT count(*) AS n FROM todos WHERE done = 0`
    ).pipe(Effect.provide(Database.layer(database)), Effect.provideService(Node.Node, node))
    yield* Console.log("open todos:", open[0]?.n)

    const stats = yield* node.call("db_pool", Database.stats)
    yield* Console.log(`pool: ${stats.open} open, ${stats.idle} idle, ${stats.waiting} waiting, ${stats.acquired} acquired`)
    yield* node.stop
  }))
