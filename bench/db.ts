/**
 * A primary-key select through a `Database` pool process beside the same statement
 * (`SqlSchema.findOne`, same Schema) on a bare `@effect/sql` client and on the pool's
 * `SqlClient` layer (the second door: same pool, no process), in the same process and run,
 * rounds alternating so that drift hits all alike. Prints `{"pool": n, "bare": n, "layer": n,
 * "pool_cpu_us": n, "bare_cpu_us": n, "layer_cpu_us": n}` (queries/s and this process's CPU µs
 * per query, medians of the rounds; the CPU figure is steadier on a shared machine), or
 * `{"skip": "why"}`.
 *
 *   node --import tsx bench/db.ts sqlite [--quick]
 *   node --import tsx bench/db.ts pg [--quick]      # starts its own temporary PostgreSQL
 *   node --cpu-prof --import tsx bench/db.ts pg --side pool   # one side (pool|bare|layer), for a profile
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
import { Node } from "../src/index.js"
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

/** Queries/s of `query` over `perRound` selects spread over `concurrency` callers. */
const measure = (query: (id: number) => Effect.Effect<Option.Option<Item>, unknown>) =>
  Effect.gen(function*() {
    const each = perRound / concurrency
    const t = performance.now()
    const cpu = process.cpuUsage()
    yield* Effect.forEach(
      Array.from({ length: concurrency }, (_, c) => c),
      (c) =>
        Effect.gen(function*() {
          for (let i = 0; i < each; i++) {
            const id = 1 + ((c * each + i) % rows)
            check(yield* query(id), id)
          }
        }),
      { concurrency: "unbounded", discard: true }
    )
    const used = process.cpuUsage(cpu)
    return { rate: perRound / ((performance.now() - t) / 1000), cpuUs: (used.user + used.system) / perRound }
  })

const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[xs.length >> 1]!

const compare = (spec: Database.Spec, bare: SqlClient.SqlClient) =>
  Effect.gen(function*() {
    yield* bare`CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`
    for (let id = 1; id <= rows; id++) yield* bare`INSERT INTO items (id, name) VALUES (${id}, ${`item ${id}`})`
    const node = yield* Node.start("bench@localhost")
    const pool = yield* Database.start(node, spec)
    const viaPool = (id: number) => node.call(pool, byId(id))
    const viaBare = SqlSchema.findOne({ ...byIdOptions, execute: (id) => byIdOptions.execute(id, bare) })
    // The second door: the same pool as a `SqlClient` layer, no process on the path.
    const layered = yield* Layer.build(Database.layer(spec).pipe(Layer.provide(Layer.succeed(Node.Node, node))))
    const sqlViaLayer = Context.get(layered, SqlClient.SqlClient)
    const viaLayer = SqlSchema.findOne({ ...byIdOptions, execute: (id) => byIdOptions.execute(id, sqlViaLayer) })
    const poolSide = { rate: [] as Array<number>, cpu: [] as Array<number> }
    const bareSide = { rate: [] as Array<number>, cpu: [] as Array<number> }
    const layerSide = { rate: [] as Array<number>, cpu: [] as Array<number> }
    const sides = ([[bareSide, viaBare, "bare"], [poolSide, viaPool, "pool"], [layerSide, viaLayer, "layer"]] as const)
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
      bare: median(bareSide.rate),
      layer: median(layerSide.rate),
      pool_cpu_us: median(poolSide.cpu),
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
