import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Cluster, Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import { Echo, Relay } from "./nodes.js"

const module = new URL("./nodes.ts", import.meta.url)

/** The main thread's node, joined to the cluster's mesh. */
const mainNode = (cluster: Cluster.Cluster) =>
  Testing.make({ name: "main@cluster", network: cluster.network("main@cluster") })

describe("Cluster", () => {
  it.scopedLive("starts one node per thread, fully connected; calls cross threads by { name, node }", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.start({ module, size: 2 })
      assert.deepStrictEqual(cluster.nodes, ["node1@cluster", "node2@cluster"])
      const members = yield* cluster.members
      assert.deepStrictEqual(members.map((m) => m.status), ["up", "up"])
      assert.notStrictEqual(members[0]!.threadId, members[1]!.threadId)
      const main = yield* mainNode(cluster)
      const answer = yield* main.node.call(Process.name("echo", "node1@cluster"), new Echo({ text: "hi" }), "5 seconds")
      assert.strictEqual(answer, "hi@node1@cluster")
      // thread to thread: a relay on node1 calls echo on node2
      const relay = yield* main.node.spawnRemote("node1@cluster", "RelayServer", undefined)
      const relayed = yield* main.node.call(relay, new Relay({ node: "node2@cluster", text: "x" }), "5 seconds")
      assert.strictEqual(relayed, "x@node2@cluster via node1@cluster")
    }).pipe(Effect.timeout("50 seconds")))
})
