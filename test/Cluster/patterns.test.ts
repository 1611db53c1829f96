/**
 * Events and process groups across the nodes of a cluster (worker threads), as across OS
 * processes: a thread that dies is a node down for them too.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Cluster, Event, Group, Process } from "../../src/index.js"
import { eventMessages, PublishRange, Seen, Subscriber } from "../fixtures/events.js"
import { eventually } from "../Process/helpers.js"
import * as Testing from "../testing.js"

const module = new URL("./patterns.ts", import.meta.url)

/** Waits (bounded, real time) until `check` holds. */
const until = <E>(check: Effect.Effect<boolean, E>, what: string, seconds: number) =>
  eventually(Effect.map(Effect.orDie(check), (ok) => (ok ? true : undefined)), what, seconds)

describe("Cluster with events and process groups", () => {
  it.scopedLive("groups converge over the thread nodes, events cross threads, and a killed thread leaves both", () =>
    Effect.gen(function*() {
      const cluster = yield* Cluster.start({ module, size: 2 })
      const main = yield* Testing.make({
        name: "main@cluster",
        network: { ...cluster.network("main@cluster"), messages: eventMessages }
      })
      yield* Group.start(main.node)
      for (const node of cluster.nodes) yield* main.node.connect(node)
      const onNode = (node: string) => Effect.map(Group.members(main.node, "workers"), (ms) => ms.filter((p) => p.node === node))
      yield* until(
        Effect.map(Group.members(main.node, "workers"), (ms) => ms.length === 4),
        "the four members of the two thread nodes",
        20
      )
      // an event on node1, watched from the main thread's node
      const sub = yield* main.node.spawn(Subscriber, { event: Event.name("ticks", "node1@cluster"), kind: "monitor" })
      yield* main.node.send(Process.name("ticker", "node1@cluster"), new PublishRange({ from: 1, count: 10 }))
      yield* until(
        Effect.map(main.node.call(sub, new Seen()), (seen) => seen.count === 10 && seen.sum === 55),
        "the ten publications from the other thread",
        20
      )
      // the thread of node1 dies: its event is down (noconnection) and its members leave
      const before = (yield* onNode("node1@cluster"))[0]!
      yield* cluster.kill("node1@cluster")
      yield* until(
        Effect.map(main.node.call(sub, new Seen()), (seen) => seen.downs.includes("noconnection")),
        "EventDown with noconnection",
        20
      )
      // restarted with a new creation; once this node connects to it again (the main thread's
      // node is no member of the mesh: it connects on use, as a node elsewhere would), the
      // scopes sync and its members join again
      yield* cluster.awaitMember("node1@cluster", (m) => m.status === "up" && m.creation !== before.creation).pipe(
        Effect.timeout("40 seconds")
      )
      yield* main.node.connect("node1@cluster")
      yield* until(
        Effect.map(onNode("node1@cluster"), (ms) => ms.length === 2 && ms.every((p) => p.creation !== before.creation)),
        "node1's members back, of its new incarnation",
        40
      )
      assert.strictEqual((yield* onNode("node2@cluster")).length, 2)
    }).pipe(Effect.timeout("58 seconds")))
})
