import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Cluster, Pool } from "../../src/index.js"
import * as Testing from "../testing.js"
import { Echo, EchoServer } from "./nodes.js"

const module = new URL("./nodes.ts", import.meta.url)

describe("Cluster with a Pool", () => {
  it.scopedLive("a pool spreads its workers over the cluster's thread nodes, and moves them off a node that goes", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.start({ module, size: 2 })
      const main = yield* Testing.make({ name: "main@cluster", network: cluster.network("main@cluster") })
      // the seed's "automatic work distribution": workers on every thread node, calls spread round-robin
      const pool = yield* main.node.spawn(
        Pool.make({ worker: EchoServer, args: undefined, size: 4, nodes: cluster.nodes, intensity: 20 }),
        undefined
      )
      const answeredBy = new Map<string, number>()
      for (let i = 0; i < 40; i++) {
        const answer = yield* Pool.call(main.node, pool, new Echo({ text: `${i}` }), "5 seconds")
        const node = answer.slice(answer.indexOf("@") + 1)
        answeredBy.set(node, (answeredBy.get(node) ?? 0) + 1)
      }
      assert.deepStrictEqual(
        Object.fromEntries(answeredBy),
        { "node1@cluster": 20, "node2@cluster": 20 },
        "4 workers, two on each thread node, round-robin"
      )
      // a thread node going away is a crash of its workers: they restart on the node that is left
      yield* cluster.kill("node1@cluster")
      // until the pool has replaced them, a call routed to a lost worker fails (NoConnection); then
      // every worker answers again: 8 calls in a row (each worker twice) succeed
      let inARow = 0
      for (let i = 0; i < 400 && inARow < 8; i++) {
        const answer = yield* Effect.either(Pool.call(main.node, pool, new Echo({ text: "again" }), "5 seconds"))
        if (answer._tag === "Right") inARow++
        else {
          inARow = 0
          yield* Effect.sleep("25 millis")
        }
      }
      assert.strictEqual(inARow, 8, "every worker answers after the restarts")
      const stats = yield* Pool.stats(main.node, pool)
      assert.isAtLeast(stats.restarts, 2, "node1's two workers were restarted")
      assert.strictEqual(stats.workers.length, 4)
    }).pipe(Effect.timeout("55 seconds")))
})
