import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Cluster, Node, Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import { Echo, EchoServer, Relay } from "./nodes.js"

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
      // the main thread's node connects to a member by name (on first use, or now); a name that is no
      // member is an error that lists the members
      yield* main.node.connect("node2@cluster")
      assert.sameMembers([...(yield* main.node.nodes)], ["node1@cluster", "node2@cluster"])
      const unknown = yield* Effect.flip(cluster.kill("node9@cluster"))
      assert.strictEqual(unknown._tag, "UnknownClusterNode")
      assert.include(unknown.message, "node1@cluster, node2@cluster")
    }).pipe(Effect.timeout("50 seconds")))

  it.scopedLive("thread nodes also listen and connect over TCP, to and from nodes elsewhere", () =>
    Effect.gen(function*() {
      const cookie = "cluster-and-beyond"
      const routes: Record<string, string> = {}
      // a node outside the cluster, on TCP only (another OS process in real life)
      const outside = yield* Node.start("outside@127.0.0.1", {
        network: { cookie, port: 0, routes, messages: [Echo, Relay], allowSpawn: [] }
      })
      yield* outside.spawn(EchoServer, undefined, { name: "echo" })
      const cluster = yield* Cluster.start({
        module,
        size: 2,
        cookie,
        network: { tcp: true, routes: { "outside@127.0.0.1": `127.0.0.1:${outside.port}` } }
      })
      const members = yield* cluster.members
      for (const m of members) assert.match(m.address, /^127\.0\.0\.1:\d+$/, "each thread listens on a TCP port of its own")
      routes["node1@cluster"] = members[0]!.address
      // outside -> thread over TCP
      assert.strictEqual(
        yield* outside.call(Process.name("echo", "node1@cluster"), new Echo({ text: "tcp" }), "10 seconds"),
        "tcp@node1@cluster"
      )
      const connection = (yield* outside.connections).peers.find((p) => p.node === "node1@cluster")
      assert.strictEqual(connection?.address, members[0]!.address)
      // thread -> outside over TCP, from a process the outside node spawned there
      const relay = yield* outside.spawnRemote("node1@cluster", "RelayServer", undefined)
      assert.strictEqual(
        yield* outside.call(relay, new Relay({ node: "outside@127.0.0.1", text: "back" }), "10 seconds"),
        "back@outside@127.0.0.1 via node1@cluster"
      )
    }).pipe(Effect.timeout("58 seconds")))
})
