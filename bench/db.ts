/**
 * A primary-key select through a `Database` pool process beside the same statement
 * (`SqlSchema.findOne`, same Schema) on a bare `@effect/sql` client and on the pool's
 * `SqlClient` layer (the second door: same pool, no process), in the same process and run,
 * rounds alternating so that drift hits all alike. The pool process is called two ways: by
 * Effect code outside processes (`node.call`, "pool") and by processes (`ctx.call` from a
 * handler, "procs"), the callers the process door is for. Prints `{"pool": n, "procs": n,
 * "bare": n, "layer": n, "pool_cpu_us": n, "procs_cpu_us": n, "bare_cpu_us": n,
 * "layer_cpu_us": n}` (queries/s and this process's CPU µs per query, medians of the rounds;
 * the CPU figure is steadier on a shared machine), or `{"skip": "why"}`.
 *
 *   node --import tsx bench/db.ts sqlite [--quick]
 *   node --import tsx bench/db.ts pg [--quick]      # starts its own temporary PostgreSQL
 *   node --cpu-prof --import tsx bench/db.ts pg --side pool   # one side (pool|procs|bare|layer), for a profile
 *
 * SQLite: one caller at a time (SQLite runs one connection). PostgreSQL: 10 concurrent
 * callers on 10 connections for each side.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import * as Database from "../src/Database/index.js"
import { Node, Process } from "../src/index.js"
import { findBinaries, startPostgres } from "../test/fixtures/postgres.js"

class Item extends Schema.Class<Item>("Item")({ id: Schema.Number, name: Schema.String }) {}

const rows = 1_000
const byIdOptions = {
  Request: Schema.Number,
  Result: Item,
  execute: (id: number, sql: SqlClient.SqlClient) => sql`SELECT id, name FROM items WHERE id = ${id}`
}
const byId = Database.findOne(byIdOptions)

const [driver, ...flags] = process.argv.slice(2)
const quick = flags.includes("--quick")
const onlySide = flags.includes("--side") ? flags[flags.indexOf("--side") + 1] : undefined
const concurrency = driver === "pg" ? 10 : 1
const perRound = driver === "pg" ? (quick ? 4_000 : 20_000) : (quick ? 20_000 : 100_000)
const rounds = quick ? 2 : 3

const check = (found: Option.Option<Item>, id: number) => {
  if (Option.isNone(found) || found.value.id !== id || found.value.name !== `item ${id}`) {
    throw new Error(`verification failed: row ${id} came back as ${JSON.stringify(found)}`)
  }
}

/** Runs `count` queries for caller `c`, starting at the `first`th of its ids, checking each row. */
type Caller = (c: number, first: number, count: number) => Effect.Effect<void, unknown>

/** The id caller `c` asks for in its `i`th query. */
const idOf = (c: number, each: number, i: number) => 1 + ((c * each + i) % rows)

/** A caller that runs `query` in a loop in the calling fiber. */
const inFiber = (query: (id: number) => Effect.Effect<Option.Option<Item>, unknown>): Caller => (c, first, count) =>
  Effect.gen(function*() {
    for (let i = first; i < first + count; i++) {
      const id = idOf(c, count, i)
      check(yield* query(id), id)
    }
  })

/** Queries/s of `caller` over `perRound` selects spread over `concurrency` callers. */
const measure = (caller: Caller) =>
  Effect.gen(function*() {
    const each = perRound / concurrency
    const t = performance.now()
    const cpu = process.cpuUsage()
    yield* Effect.forEach(
      Array.from({ length: concurrency }, (_, c) => c),
      (c) => caller(c, 0, each),
      { concurrency: "unbounded", discard: true }
    )
    const used = process.cpuUsage(cpu)
    return { rate: perRound / ((performance.now() - t) / 1000), cpuUs: (used.user + used.system) / perRound }
  })

/** A process that, asked for `count` queries, makes them one after another with `ctx.call` and answers when done. */
const Querier = Process.make({
  name: "Querier",
  init: (pool: Database.Pool) => Effect.succeed(pool),
  handleCall: (ask: { readonly c: number; readonly count: number }, _from, pool, ctx) =>
    Effect.gen(function*() {
      for (let i = 0; i < ask.count; i++) {
        const id = idOf(ask.c, ask.count, i)
        check(yield* ctx.call(pool, byId(id), "1 minute"), id)
      }
      return Process.reply(ask.count, pool)
    })
})

const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[xs.length >> 1]!

const compare = (spec: Database.Spec, bare: SqlClient.SqlClient) =>
  Effect.gen(function*() {
    yield* bare`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`
    for (let id = 1; id <= rows; id++) yield* bare`INSERT INTO items (id, name) VALUES (${id}, ${`item ${id}`})`
    const node = yield* Node.start("bench@localhost")
    const pool = yield* Database.start(node, spec)
    const viaPool = inFiber((id: number) => node.call(pool, byId(id)))
    const queriers = yield* Effect.forEach(Array.from({ length: concurrency }), () => node.spawn(Querier, pool))
    const viaProcs: Caller = (c, _first, count) => node.call(queriers[c]!, { c, count }, "5 minutes")
    const viaBare = inFiber(SqlSchema.findOne({ ...byIdOptions, execute: (id) => byIdOptions.execute(id, bare) }))
    // The second door: the same pool as a `SqlClient` layer, no process on the path.
    const layered = yield* Layer.build(Database.layer(spec).pipe(Layer.provide(Layer.succeed(Node.Node, node))))
    const sqlViaLayer = Context.get(layered, SqlClient.SqlClient)
    const viaLayer = inFiber(SqlSchema.findOne({ ...byIdOptions, execute: (id) => byIdOptions.execute(id, sqlViaLayer) }))
    const poolSide = { rate: [] as Array<number>, cpu: [] as Array<number> }
    const procsSide = { rate: [] as Array<number>, cpu: [] as Array<number> }
    const bareSide = { rate: [] as Array<number>, cpu: [] as Array<number> }
    const layerSide = { rate: [] as Array<number>, cpu: [] as Array<number> }
    const sides = ([
      [bareSide, viaBare, "bare"],
      [poolSide, viaPool, "pool"],
      [procsSide, viaProcs, "procs"],
      [layerSide, viaLayer, "layer"]
    ] as const)
      .filter(([, , name]) => onlySide === undefined || onlySide === name)
    // Warm-up: JIT, prepared statements, connections.
    for (const [, query] of sides) yield* measure(query)
    for (let r = 0; r < rounds; r++) {
      for (const [side, query] of sides) {
        const { cpuUs, rate } = yield* measure(query)
        side.rate.push(rate)
        side.cpu.push(cpuUs)
      }
    }
    if (onlySide !== undefined) return { side: onlySide, rate: median(sides[0]![0].rate), cpu_us: median(sides[0]![0].cpu) }
    return {
      pool: median(poolSide.rate),
      procs: median(procsSide.rate),
      bare: median(bareSide.rate),
      layer: median(layerSide.rate),
      pool_cpu_us: median(poolSide.cpu),
      procs_cpu_us: median(procsSide.cpu),
      bare_cpu_us: median(bareSide.cpu),
      layer_cpu_us: median(layerSide.cpu)
    }
  })

const run = Effect.gen(function*() {
  if (driver === "sqlite") {
    // A file both sides open (":memory:" would be one database per connection).
    const tmp = mkdtempSync(join(tmpdir(), "rain-db-bench-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(tmp, { recursive: true, force: true })))
    const filename = join(tmp, "bench.db")
    const bare = yield* SqliteClient.make({ filename })
    return yield* compare({ driver: "sqlite", filename, name: "bench_pool" }, bare)
  }
  if (driver === "pg") {
    if (findBinaries() === undefined) {
      return { skip: "PostgreSQL is not installed (apt-get install -y postgresql): db.pg.* skipped" }
    }
    const server = yield* startPostgres("rain_bench")
    const bare = yield* PgClient.make({ url: Redacted.make(server.url), maxConnections: concurrency })
    return yield* compare({ driver: "postgres", url: server.url, name: "bench_pool", pool: { maxConnections: concurrency } }, bare)
  }
  return yield* Effect.die(new Error(`unknown driver ${driver}: use sqlite or pg`))
})

Effect.runPromise(Effect.scoped(run).pipe(Effect.provide(Reactivity.layer))).then(
  (result) => {
    process.stdout.write(JSON.stringify(result) + "\n")
    process.exit(0)
  },
  (error) => {
    process.stderr.write(`db bench ${driver}: ${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  }
)
