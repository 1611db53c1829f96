import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Cluster } from "../../src/index.js"
import * as Testing from "../testing.js"
import { HeapLimits } from "./nodes.js"

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
      const young = yield* Effect.flip(Cluster.start({ module, resourceLimits: { maxYoungGenerationSizeMb: 0 } }))
      assert.include(young.message, "resourceLimits.maxYoungGenerationSizeMb is 0")
      assert.include(young.message, "a positive number of megabytes")
      const nan = yield* Effect.flip(Cluster.start({ module, resourceLimits: { stackSizeMb: NaN } }))
      assert.include(nan.message, "resourceLimits.stackSizeMb")
      const unknown = yield* Effect.flip(Cluster.start({ module, resourceLimits: { youngMb: 64 } as any }))
      assert.include(unknown.message, "resourceLimits.youngMb")
      assert.include(unknown.message, "one of maxYoungGenerationSizeMb, maxOldGenerationSizeMb")
      const notObject = yield* Effect.flip(Cluster.start({ module, resourceLimits: 64 as any }))
      assert.include(notObject.message, "Cluster option resourceLimits is 64")
    }))

  it.scopedLive("resourceLimits reach every thread; the young generation defaults to 96 MB, the rest to V8's", () =>
    Effect.gen(function*() {
      const limitsOf = (options: Partial<Cluster.Options>) =>
        Effect.scoped(Effect.gen(function*() {
          const cluster = yield* Cluster.start({
            module: new URL("./nodes.ts", import.meta.url),
            size: 1,
            restart: { spare: false },
            ...options
          })
          const main = yield* Testing.make({ name: "main@cluster", network: cluster.network("main@cluster") })
          const reporter = yield* main.node.spawnRemote("node1@cluster", "LimitsReporter", undefined)
          return yield* main.node.call(reporter, new HeapLimits(), "10 seconds")
        }))
      const defaults = yield* limitsOf({})
      assert.strictEqual(defaults.maxYoungGenerationSizeMb, 96)
      const given = yield* limitsOf({ resourceLimits: { maxYoungGenerationSizeMb: 32, stackSizeMb: 8 } })
      assert.strictEqual(given.maxYoungGenerationSizeMb, 32)
      assert.strictEqual(given.stackSizeMb, 8)
      assert.strictEqual(given.maxOldGenerationSizeMb, defaults.maxOldGenerationSizeMb, "an unset limit stays V8's")
    }).pipe(Effect.timeout("55 seconds")))

  it.scopedLive("a thread that cannot be created (a stack larger than the address space) fails the start, naming the node", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Cluster.start({ module: new URL("./nodes.ts", import.meta.url), size: 2, resourceLimits: { stackSizeMb: 1e9 } })
      )
      assert.strictEqual(error._tag, "ClusterStartFailed")
      assert.strictEqual(error._tag === "ClusterStartFailed" ? error.node : undefined, "node1@cluster")
      assert.include(error.message, "its thread could not be created")
    }).pipe(Effect.timeout("30 seconds")))

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
