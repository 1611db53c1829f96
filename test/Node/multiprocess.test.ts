import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { Effect, Fiber, Schedule, Schema } from "effect"
import { Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import { embedded } from "../../src/Registry/internal/embedded.js"
import { Blob, GetCount, Increment, messages, registrarLookup, Relay } from "../fixtures/dist.js"
import { within } from "../Process/helpers.js"

/**
 * Starts test/fixtures/dist-node.ts as an OS process (tsx compiles Rain at start: tens of seconds
 * when the machine's 2 cores are busy, hence the generous bounds of these tests); resolves when it printed `ready`. Registrar
 * port 0: the child serves the registrar on a port the system picks (no race for a free port).
 */
const startChild = (name: string, registrarPort: number) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ child: ChildProcess; port: number; creation: number; registrarPort: number }>((resolve, reject) => {
          const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/dist-node.ts", name, String(registrarPort)], {
            stdio: ["ignore", "pipe", "inherit"]
          })
          const timer = setTimeout(() => reject(new Error("child did not start in 45 s")), 45_000)
          let out = ""
          child.stdout!.on("data", (chunk: Buffer) => {
            out += chunk.toString()
            const m = /ready (\d+) (\d+) (\d+)/.exec(out)
            if (m !== null) {
              clearTimeout(timer)
              resolve({ child, port: Number(m[1]), creation: Number(m[2]), registrarPort: Number(m[3]) })
            }
          })
          child.once("exit", (code) => reject(new Error(`child exited with ${code}`)))
        })
    ),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )

/** Registered in this process only: the child cannot decode it. */
class OnlyHere extends Schema.TaggedClass<OnlyHere>()("OnlyHere", { text: Schema.String }) {}

const isDown = (u: unknown): u is Process.Down => u instanceof Process.Down
const isExit = (u: unknown): u is Process.Exit => u instanceof Process.Exit
const B = "b@127.0.0.1"
const nodeA = (registrarPort: number, extra: ReadonlyArray<typeof OnlyHere> = []) =>
  Testing.make({
    name: "a@127.0.0.1",
    log: { level: "Error" },
    network: { cookie: "test-cookie", registrar: embedded(registrarPort, "127.0.0.1"), messages: [...messages, ...extra] }
  })

describe("multi-process", () => {
  it.scopedLive("SIGKILL of a peer fires Down and exit signals noconnection; the registrar is taken over; a restarted peer has a new creation", () =>
    Effect.gen(function*() {
      const first = yield* startChild(B, 0)
      const registrarPort = first.registrarPort
      const a = yield* nodeA(registrarPort, [OnlyHere])
      // b serves the registrar: it knows a
      assert.strictEqual(yield* registrarLookup(registrarPort, "a@127.0.0.1"), a.node.port)
      // remote name addressing across processes
      const echo = Process.name("echo", B)
      yield* a.send(echo, { reply: a.probe, n: 1 })
      assert.deepStrictEqual(yield* a.receive("5 seconds"), { reply: a.probe, n: 1 })
      // a type only this side knows: dropped (and logged) there, the rest of the batch and the connection live
      yield* a.node.trySend(echo, { reply: a.probe, secret: new OnlyHere({ text: "x" }) })
      yield* a.node.trySend(echo, new OnlyHere({ text: "y" }))
      yield* a.send(echo, { reply: a.probe, n: 2 })
      assert.deepStrictEqual(yield* a.receive("5 seconds"), { reply: a.probe, n: 2 })
      const refused = yield* Effect.flip(a.call(echo as unknown as Process.Ref<never, OnlyHere>, new OnlyHere({ text: "z" }) as never, "5 seconds"))
      assert.strictEqual((refused as any)._tag, "TypeNotRegistered")
      const counter = yield* a.node.spawnRemote(B, "Counter", 1)
      assert.strictEqual(counter.creation, first.creation)
      yield* a.send(counter, new Increment({ by: 2 }))
      const ref = counter as Process.Ref<Increment, GetCount>
      assert.strictEqual(yield* a.call(ref, new GetCount()), 3)
      const linked = yield* a.spawn(Relay, a.probe, { trapExit: true } as any)
      yield* a.send(linked, { link: counter })
      yield* a.monitor(counter)
      yield* a.send(linked, { monitorNode: B })
      // acknowledged, not slept on: the relay has linked, then a call on the same connection
      // proves b read the link and monitor frames sent before it
      yield* a.send(linked, "ack")
      assert.strictEqual(yield* a.receive("5 seconds"), "ack")
      assert.strictEqual(yield* a.call(ref, new GetCount(), "5 seconds"), 3)

      first.child.kill("SIGKILL")
      const down = yield* a.receiveMatching(isDown, "5 seconds")
      assert.strictEqual(down.reason._tag, "noconnection")
      const exit = yield* a.receiveMatching(isExit, "5 seconds")
      assert.strictEqual(exit.reason._tag, "noconnection")
      assert.deepStrictEqual(exit.from, counter)
      const nodeDown = yield* a.receiveMatching((u): u is Process.NodeDown => u instanceof Process.NodeDown, "5 seconds")
      assert.notStrictEqual(nodeDown.reason, "not connected")

      // takeover: with b gone, a serves the registrar on the same port
      const served = registrarLookup(registrarPort, "a@127.0.0.1").pipe(
        Effect.filterOrFail((port) => port === a.node.port, () => "a does not serve the registrar yet"),
        Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("5 seconds")))
      )
      assert.strictEqual(yield* served, a.node.port)
      // restart: the new incarnation registers with a and has a new creation
      const second = yield* startChild(B, registrarPort)
      assert.notStrictEqual(second.creation, first.creation)
      assert.strictEqual(yield* registrarLookup(registrarPort, B), second.port)
      const fresh = yield* a.node.spawnRemote(B, "Counter", 10)
      assert.strictEqual(fresh.creation, second.creation)
      assert.strictEqual(yield* a.call(fresh as Process.Ref<Increment, GetCount>, new GetCount(), "5 seconds"), 10)
      const stale = yield* Effect.flip(a.call(ref, new GetCount(), "5 seconds"))
      assert.strictEqual(stale._tag, "ProcessUnknown")
    }), 150_000)

  it.scopedLive("a connection with over 1 MiB unsent is busy: node.send waits until it drains, trySend does not", () =>
    Effect.gen(function*() {
      const peer = yield* startChild(B, 0)
      const a = yield* nodeA(peer.registrarPort)
      const sink = Process.name("sink", B) as unknown as Process.Ref<unknown, GetCount>
      const base = yield* a.call(sink, new GetCount(), "5 seconds")
      // b stops reading: what a writes piles up in the socket, past the kernel's buffers
      peer.child.kill("SIGSTOP")
      yield* Effect.addFinalizer(() => Effect.sync(() => peer.child.kill("SIGCONT")))
      const data = new Uint8Array(512 * 1024)
      const blobs = 64 // 32 MiB
      for (let i = 0; i < blobs; i++) yield* a.node.trySend(sink, new Blob({ seq: i, data }))
      yield* Effect.sleep("300 millis") // let the writes reach the socket
      const waiting = yield* Effect.fork(a.node.send(sink, "waits"))
      const tried = yield* within(a.node.trySend(sink, "does not wait"), "trySend on a busy connection", 5)
      assert.isUndefined(tried)
      yield* Effect.sleep("300 millis")
      assert.isNull(waiting.unsafePoll(), "node.send still waits for the busy connection")
      peer.child.kill("SIGCONT")
      yield* within(Fiber.join(waiting), "node.send to return once the connection drained", 20)
      // all of it arrived, in order, once: b counted every message before answering
      assert.strictEqual(yield* a.call(sink, new GetCount(), "20 seconds"), base + blobs + 2)
    }), 150_000)
})
