import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Cluster } from "../../src/index.js"

describe("Cluster options and start failures", () => {
  it.scopedLive("options out of range fail with InvalidClusterOption before any thread starts", () =>
    Effect.gen(function*() {
      const module = new URL("./nodes.ts", import.meta.url)
      const size = yield* Effect.flip(Cluster.start({ module, size: 0 }))
      assert.strictEqual(size._tag, "InvalidClusterOption")
      assert.include(size.message, "size")
      const name = yield* Effect.flip(Cluster.start({ module, name: "no spaces" }))
      assert.include(name.message, "name")
      const within = yield* Effect.flip(Cluster.start({ module, restart: { within: 0 } }))
      assert.include(within.message, "restart.within")
      const restarts = yield* Effect.flip(Cluster.start({ module, restart: { maxRestarts: -1 } }))
      assert.include(restarts.message, "maxRestarts")
      const clone = yield* Effect.flip(Cluster.start({ module, nodeOptions: { log: (() => "no") as any } }))
      assert.include(clone.message, "nodeOptions")
      assert.include(clone.message, "structured clone")
    }))

  it.scopedLive("no options, or no module, from plain JS fail with InvalidClusterOption saying what module to give", () =>
    Effect.gen(function*() {
      const noModule = yield* Effect.flip(Cluster.start({ size: 1 } as any))
      assert.strictEqual(noModule._tag, "InvalidClusterOption")
      assert.include(noModule.message, "Cluster option module is undefined")
      assert.include(noModule.message, "Cluster.define")
      const numberModule = yield* Effect.flip(Cluster.start({ module: 42, size: 1 } as any))
      assert.include(numberModule.message, "Cluster option module is 42")
      const none = yield* Effect.flip(Cluster.start(undefined as any))
      assert.strictEqual(none._tag, "InvalidClusterOption")
      assert.include(none.message, "Cluster option options is undefined")
    }))

  it.scopedLive("a module without a Cluster.define default export, or one that cannot be imported, fails the start", () =>
    Effect.gen(function*() {
      const noDefault = yield* Effect.flip(Cluster.start({ module: new URL("./no-default.ts", import.meta.url), size: 1 }))
      assert.strictEqual(noDefault._tag, "ClusterStartFailed")
      assert.include(noDefault.message, "no default export")
      const missing = yield* Effect.flip(Cluster.start({ module: new URL("./missing.ts", import.meta.url), size: 1 }))
      assert.include(missing.message, "could not import")
    }))

  it.scopedLive("an application that fails on its node fails the start, naming the node; every thread is stopped", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Cluster.start({ module: new URL("./bad-app.ts", import.meta.url), size: 1, startTimeout: "50 seconds" })
      )
      assert.strictEqual(error._tag, "ClusterStartFailed")
      assert.strictEqual(error._tag === "ClusterStartFailed" ? error.node : undefined, "node1@cluster")
      assert.include(error.message, "did not start")
    }).pipe(Effect.timeout("58 seconds")))
})
