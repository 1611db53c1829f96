import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Cluster, Node, Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import { Echo, Relay, Watch } from "./nodes.js"

const module = new URL("./nodes.ts", import.meta.url)

const isDown = (u: unknown): u is Process.Down => u instanceof Process.Down
const isExit = (u: unknown): u is Process.Exit => u instanceof Process.Exit
const isNodeDown = (u: unknown): u is Process.NodeDown => u instanceof Process.NodeDown

describe("Cluster threads that end", () => {
  it.scopedLive("a killed thread is a node down for the others (Exit and Down with noconnection) and restarts with a new creation", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.start({ module, size: 2 })
      const main = yield* Testing.make({ name: "main@cluster", network: cluster.network("main@cluster") })
      const [before] = (yield* cluster.members).filter((m) => m.node === "node2@cluster")
      // on node2: a process to watch; on node1: a watcher linked to it and monitoring it, forwarding to the probe
      const target = yield* main.node.spawnRemote("node2@cluster", "EchoServer", undefined)
      assert.strictEqual(target.creation, before!.creation, "pids carry their node's creation")
      const watcher = yield* main.node.spawnRemote("node1@cluster", "Watcher", main.probe)
      yield* main.send(watcher, new Watch({ target }))
      assert.strictEqual(yield* main.receive("10 seconds"), "watching")
      yield* main.monitor(target)
      yield* main.node.monitorNode("node2@cluster").pipe(
        Effect.flatMap((down) => main.send(main.probe, down)),
        Effect.forkScoped
      )

      yield* cluster.kill("node2@cluster")

      // node1 (another thread) sees the link and the monitor fire
      const exit = yield* main.receiveMatching(isExit, "10 seconds")
      assert.strictEqual(exit.reason._tag, "noconnection")
      assert.deepStrictEqual(exit.from, target)
      const down = yield* main.receiveMatching(isDown, "10 seconds")
      assert.strictEqual(down.reason._tag, "noconnection")
      // and so does the main thread's node
      const nodeDown = yield* main.receiveMatching(isNodeDown, "10 seconds")
      assert.strictEqual(nodeDown.node, "node2@cluster")

      const after = yield* cluster.awaitMember("node2@cluster", (m) => m.status === "up" && m.restarts === 1).pipe(
        Effect.timeoutFail({ duration: "40 seconds", onTimeout: () => "node2 did not come back" })
      )
      assert.notStrictEqual(after.creation, before!.creation, "a restarted node has a new creation")
      assert.notStrictEqual(after.threadId, before!.threadId)
      // the new incarnation serves again, reached from the main thread and from node1
      assert.strictEqual(
        yield* main.node.call(Process.name("echo", "node2@cluster"), new Echo({ text: "again" }), "10 seconds"),
        "again@node2@cluster"
      )
      const relay = yield* main.node.spawnRemote("node1@cluster", "RelayServer", undefined)
      assert.strictEqual(
        yield* main.node.call(relay, new Relay({ node: "node2@cluster", text: "y" }), "10 seconds"),
        "y@node2@cluster via node1@cluster"
      )
      const fresh = yield* main.node.spawnRemote("node2@cluster", "EchoServer", undefined)
      assert.strictEqual(fresh.creation, after.creation)
    }).pipe(Effect.timeout("58 seconds")))

  it.scopedLive("a crash inside a thread is reported; past the restart intensity the cluster stops with ClusterGaveUp", () =>
    Effect.gen(function*() {
      // no restart allowed: the first end is one too many (the restart itself is the test above)
      const cluster = yield* Cluster.start({ module, size: 1, restart: { maxRestarts: 0, within: "1 minute" } })
      const main = yield* Node.start("main@cluster", { network: cluster.network("main@cluster") })
      const crasher = yield* main.spawnRemote("node1@cluster", "ThreadCrasher", undefined)
      yield* main.send(crasher, "crash")
      const gaveUp = yield* Effect.flip(cluster.wait).pipe(
        Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => "the cluster did not give up" })
      )
      assert.strictEqual(gaveUp._tag, "ClusterGaveUp")
      assert.strictEqual(gaveUp._tag === "ClusterGaveUp" ? gaveUp.node : "", "node1@cluster")
      assert.include(gaveUp.message, "the thread crashes", "it says why the thread ended")
      assert.include(gaveUp.message, "raise restart.maxRestarts")
      const members = yield* cluster.members
      assert.deepStrictEqual(members.map((m) => m.status), ["stopped"])
      assert.include(members[0]!.lastError, "the thread crashes")
    }).pipe(Effect.timeout("58 seconds")))
})
