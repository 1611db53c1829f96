import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import parse from "parse-prometheus-text-format"
import { Node } from "rain"
import * as Database from "rain/Database"
import * as Telemetry from "rain/Telemetry"

describe("Database pool figures in the node's metrics", () => {
  it.scoped("a pool's connections open/idle/busy/waiting reach the node's Prometheus endpoint, tagged node and pool", () =>
    Effect.gen(function*() {
      const { url } = yield* Telemetry.Prometheus
      const node = yield* Node.start("dbmetrics@localhost")
      yield* Telemetry.publish(node, { interval: "1 second" })
      const pool = yield* Database.start(node, { driver: "sqlite", filename: ":memory:", name: "orders_db" })
      // every stats or info read publishes the figures (and the pool does once a second)
      const stats = yield* node.call(pool, Database.stats)
      assert.strictEqual(stats.open, 1)
      const body = yield* Effect.promise(() =>
        fetch(url, { signal: AbortSignal.timeout(5000) }).then((response) => response.text())
      )
      const families = parse(body)
      const value = (name: string) => {
        const family = families.find((f) => f.name === name)
        assert.isDefined(family, `no ${name} in ${families.map((f) => f.name).join(", ")}`)
        const sample = family!.metrics.find((m) => m.labels?.["node"] === "dbmetrics@localhost" && m.labels?.["pool"] === "orders_db")
        assert.isDefined(sample, `no ${name}{node, pool} in ${JSON.stringify(family!.metrics)}`)
        return Number(sample!.value)
      }
      assert.strictEqual(value("rain_db_connections_open"), 1)
      assert.strictEqual(value("rain_db_connections_idle"), 1)
      assert.strictEqual(value("rain_db_connections_busy"), 0)
      assert.strictEqual(value("rain_db_connections_waiting"), 0)
      // and the node's own figures sit beside them
      assert.isDefined(families.find((f) => f.name === "rain_processes"))
    }).pipe(Effect.provide(Telemetry.layerPrometheus({ port: 0 }))))
})
