/**
 * Events and process groups with a node in another OS process (test/fixtures/patterns-node.ts),
 * killed with SIGKILL and started again.
 */
import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { Effect, Schedule } from "effect"
import { Event, Group, Process } from "../../src/index.js"
import type { Process as P } from "../../src/index.js"
import * as Testing from "../testing.js"
import { embedded } from "../../src/Registry/internal/embedded.js"
import { messages, registrarLookup } from "../fixtures/dist.js"
import { eventMessages, Producer, PublishRange, Seen, Subscriber } from "../fixtures/events.js"
import { Member } from "../fixtures/groups.js"
import { eventually } from "../Process/helpers.js"

const B = "b@127.0.0.1"
const A = "a@127.0.0.1"

/** Starts the child node; resolves when it printed `ready` (tsx compiles Rain first: generous bound). */
const startChild = (registrarPort: number) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ child: ChildProcess; creation: number; registrarPort: number }>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            ["--import", "tsx", "test/fixtures/patterns-node.ts", B, String(registrarPort)],
            { stdio: ["ignore", "pipe", "inherit"] }
          )
          const timer = setTimeout(() => reject(new Error("child did not start in 45 s")), 45_000)
          let out = ""
          child.stdout!.on("data", (chunk: Buffer) => {
            out += chunk.toString()
            const m = /ready (\d+) (\d+) (\d+)/.exec(out)
            if (m !== null) {
              clearTimeout(timer)
              resolve({ child, creation: Number(m[2]), registrarPort: Number(m[3]) })
            }
          })
          child.once("exit", (code) => reject(new Error(`child exited with ${code}`)))
        })
    ),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )

const onB = (pids: ReadonlyArray<P.Pid>) => pids.filter((p) => p.node === B)
const isTagged = (tag: string) => (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && tag in u

describe("Event and Group with a node in another OS process", () => {
  it.scopedLive("fan-out crosses once per node; SIGKILL: EventDown, exit signals and group members leave; a restarted node rejoins", () =>
    Effect.gen(function*() {
      const first = yield* startChild(0)
      const registrarPort = first.registrarPort
      const a = yield* Testing.make({
        name: A,
        log: { level: "None" },
        network: { cookie: "test-cookie", registrar: embedded(registrarPort, "127.0.0.1"), messages: [...messages, ...eventMessages] }
      })
      yield* Group.start(a.node)
      const a1 = yield* a.spawn(Member, { group: "workers" })
      yield* a.node.connect(B)
      const firstMembers = yield* eventually(
        Effect.map(Effect.orDie(Group.members(a.node, "workers")), (pids) => (onB(pids).length === 3 ? pids : undefined)),
        "b's three members reach a"
      )
      assert.strictEqual(firstMembers.length, 4)
      assert.isTrue(firstMembers.some((p) => String(p) === String(a1)))

      // subscribers on a of an event on b: the buffer first, then publications
      const ticks = Event.name("ticks", B)
      const early = yield* a.spawn(Subscriber, { event: ticks, kind: "monitor", forward: a.probe })
      assert.deepStrictEqual(yield* a.receiveMatching(isTagged("buffer"), "5 seconds"), { buffer: [] })
      yield* a.send(Process.name("ticker", B), new PublishRange({ from: 1, count: 3 }))
      for (const n of [1, 2, 3]) assert.deepStrictEqual(yield* a.receiveMatching(isTagged("got"), "5 seconds"), { got: n })
      yield* a.node.exit(early, Process.ExitReason.kill)
      yield* a.exitReason(early)
      // a later subscriber on a gets the last two from a's relay, which kept them
      const monitoring = { pid: yield* a.spawn(Subscriber, { event: ticks, kind: "monitor", forward: a.probe }) }
      assert.deepStrictEqual(yield* a.receiveMatching(isTagged("buffer"), "5 seconds"), { buffer: [2, 3] })
      const linked = yield* a.spawn(Subscriber, { event: ticks, kind: "link" })
      yield* a.send(Process.name("ticker", B), new PublishRange({ from: 10, count: 2 }))
      assert.deepStrictEqual(yield* a.receiveMatching(isTagged("got"), "5 seconds"), { got: 10 })
      assert.deepStrictEqual(yield* a.receiveMatching(isTagged("got"), "5 seconds"), { got: 11 })

      // 1,000 subscribers on b of an event on a: each publication crosses the wire once
      const producer = yield* a.spawn(Producer, { name: "numbers" })
      const fans = 1000
      yield* a.send(Process.name("fans", B), { subscribe: Event.name("numbers", A), count: fans, reply: a.probe })
      assert.deepStrictEqual(yield* a.receiveMatching(isTagged("subscribed"), "20 seconds"), { subscribed: fans })
      const bytesOut = Effect.map(a.node.connections, (c) => c.peers.find((p) => p.node === B)?.bytesOut ?? 0)
      const fansRef = Process.name("fans", B) as unknown as P.Ref<never, Seen>
      let polls = 0
      const seenNow = Effect.orDie(Effect.tap(a.call(fansRef, new Seen(), "20 seconds"), () => void polls++))
      // what one poll costs on the wire, to tell it apart from the publications
      const idle = yield* bytesOut
      yield* seenNow
      const pollBytes = (yield* bytesOut) - idle
      polls = 0
      const before = yield* bytesOut
      const publications = 20
      yield* a.send(producer, new PublishRange({ from: 1, count: publications }))
      const seen = yield* eventually(
        Effect.map(seenNow, (s) => (s.count === fans * publications ? s : undefined)),
        "every subscriber on b gets every publication",
        30
      )
      assert.strictEqual(seen.sum, fans * (publications * (publications + 1)) / 2)
      const sent = (yield* bytesOut) - before - polls * pollBytes
      // one copy per subscriber would be over fans * publications * 30 bytes = 600 kB
      assert.isBelow(sent, publications * 300, `${sent} bytes to b for ${publications} publications to ${fans} subscribers`)
      assert.isAbove(sent, publications * 10, "the publications did cross")

      first.child.kill("SIGKILL")
      assert.deepStrictEqual(yield* a.receiveMatching(isTagged("down"), "10 seconds"), { down: "noconnection", event: "ticks" })
      assert.strictEqual((yield* a.exitReason(linked))._tag, "noconnection")
      assert.isTrue((yield* a.node.info(monitoring.pid))._tag === "Some")
      yield* eventually(
        Effect.map(Effect.orDie(Group.members(a.node, "workers")), (pids) => (pids.length === 1 ? pids : undefined)),
        "b's members leave a's view",
        10
      )
      assert.deepStrictEqual(yield* Group.members(a.node, "workers"), [a1])

      // takeover: a serves the registrar now; b starts again and rejoins
      yield* registrarLookup(registrarPort, A).pipe(
        Effect.filterOrFail((port) => port === a.node.port, () => "a does not serve the registrar yet"),
        Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("10 seconds")))
      )
      const second = yield* startChild(registrarPort)
      assert.notStrictEqual(second.creation, first.creation)
      yield* a.node.connect(B)
      const rejoined = yield* eventually(
        Effect.map(Effect.orDie(Group.members(a.node, "workers")), (pids) => (onB(pids).length === 3 ? pids : undefined)),
        "the restarted b's members reach a",
        20
      )
      assert.isTrue(onB(rejoined).every((p) => p.creation === second.creation))
      // and its event can be subscribed to again
      yield* a.spawn(Subscriber, { event: ticks, kind: "monitor", forward: a.probe })
      assert.deepStrictEqual(yield* a.receiveMatching(isTagged("buffer"), "5 seconds"), { buffer: [] })
    }), 150_000)
})
