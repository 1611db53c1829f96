import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Option, Queue } from "effect"
import * as Dgram from "node:dgram"
import type { Process as P } from "../../src/index.js"
import * as Meta from "../../src/Meta/index.js"
import { Node, Process } from "../../src/index.js"
import { eventually } from "./helpers.js"

/** Puts every datagram into a queue the test reads. */
const Collector = Process.make({
  name: "Collector",
  init: (queue: Queue.Queue<Meta.UdpDatagram>) => Effect.succeed(queue),
  handleMessage: (datagram: Meta.UdpDatagram, queue) => Effect.as(Queue.offer(queue, datagram), queue)
})

/** Holds its first datagram until the gate opens: its mailbox (2) fills meanwhile. */
const Stuck = Process.make({
  name: "Stuck",
  options: { mailboxSize: 2 },
  init: (gate: Deferred.Deferred<void>) => Effect.succeed(gate),
  handleMessage: (_: Meta.UdpDatagram, gate) => Effect.as(Deferred.await(gate), gate)
})

const info = (node: Node.NodeService, pid: P.Pid) =>
  Effect.map(node.info(pid), (i) => Option.getOrThrow(i).detail as Meta.UdpInfo)

const take = <A>(queue: Queue.Queue<A>) => Effect.timeoutFail(Queue.take(queue), { duration: "3 seconds", onTimeout: () => new Error("nothing within 3 s") })

describe("Meta.Udp", () => {
  it.scopedLive("datagrams in as messages with the sender's address, UdpSend out; info counts them", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("udp@localhost")
      const inbox = yield* Queue.unbounded<Meta.UdpDatagram>()
      const collector = yield* node.spawn(Collector, inbox)
      const a = yield* node.spawn(Meta.Udp, { port: 0, handler: collector })
      const b = yield* node.spawn(Meta.Udp, { port: 0, handler: collector })
      const aAddress = yield* node.call(a, new Meta.GetAddress())
      const bAddress = yield* node.call(b, new Meta.GetAddress())
      yield* node.send(a, new Meta.UdpSend({ host: "127.0.0.1", port: bAddress.port, data: "ping" }))
      const got = yield* take(inbox)
      assert.strictEqual(got.text, "ping")
      assert.strictEqual(String(got.socket), String(b))
      assert.strictEqual(got.from.port, aAddress.port)
      yield* node.send(b, new Meta.UdpSend({ host: got.from.host, port: got.from.port, data: new Uint8Array([1, 2]) }))
      assert.deepStrictEqual([...(yield* take(inbox)).data], [1, 2])
      yield* eventually(Effect.map(info(node, a), (d) => d.sent === 1 && d.received === 1), "a counted")
      assert.strictEqual((yield* info(node, b)).address, `127.0.0.1:${bAddress.port}`)
    }))

  it.scopedLive("a full handler mailbox drops datagrams and counts them; stopping frees the port", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("udp@localhost")
      const gate = yield* Deferred.make<void>()
      const stuck = yield* node.spawn(Stuck, gate)
      const udp = yield* node.spawn(Meta.Udp, { port: 0, handler: stuck })
      const { port } = yield* node.call(udp, new Meta.GetAddress())
      const client = Dgram.createSocket("udp4")
      yield* Effect.addFinalizer(() => Effect.sync(() => client.close()))
      for (let i = 0; i < 10; i++) client.send(`d${i}`, port, "127.0.0.1")
      // one taken and held, two queued, seven dropped
      yield* eventually(Effect.map(info(node, udp), (d) => d.received === 10), "all received")
      assert.strictEqual((yield* info(node, udp)).dropped, 7)
      yield* Deferred.succeed(gate, undefined)
      yield* node.exit(udp, Process.ExitReason.kill)
      yield* node.awaitExit(udp)
      yield* eventually(
        Effect.map(Effect.exit(node.spawn(Meta.Udp, { port, handler: stuck })), (exit) => exit._tag === "Success"),
        "port bound again after a kill"
      )
      const taken = yield* Effect.flip(node.spawn(Meta.Udp, { port, handler: stuck }))
      assert.match(taken.message, /could not listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/)
      const bad = yield* Effect.flip(node.spawn(Meta.Udp, { port: 1.5, handler: stuck }))
      assert.match(bad.message, /port must be an integer/)
    }))
})
