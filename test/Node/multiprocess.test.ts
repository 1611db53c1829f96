import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { Effect, Schema } from "effect"
import { Process, Testing } from "../../src/index.js"
import { embeddedRegistrar } from "../../src/Registry/Registrar.js"
import { freePort, GetCount, Increment, messages, Relay } from "../fixtures/dist.js"

/** Starts test/fixtures/dist-node.ts as an OS process; resolves when it printed `ready`. */
const startChild = (name: string, registrarPort: number) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ child: ChildProcess; port: number; creation: number }>((resolve, reject) => {
          const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/dist-node.ts", name, String(registrarPort)], {
            stdio: ["ignore", "pipe", "inherit"]
          })
          const timer = setTimeout(() => reject(new Error("child did not start in 15 s")), 15_000)
          let out = ""
          child.stdout!.on("data", (chunk: Buffer) => {
            out += chunk.toString()
            const m = /ready (\d+) (\d+)/.exec(out)
            if (m !== null) {
              clearTimeout(timer)
              resolve({ child, port: Number(m[1]), creation: Number(m[2]) })
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

describe("multi-process", () => {
  it.scopedLive("SIGKILL of a peer fires Down and exit signals noconnection; a restarted peer has a new creation", () =>
    Effect.gen(function*() {
      const registrarPort = yield* Effect.promise(freePort)
      const b = "b@127.0.0.1"
      const first = yield* startChild(b, registrarPort)
      const a = yield* Testing.make({
        name: "a@127.0.0.1",
        log: { level: "Error" },
        network: { cookie: "test-cookie", registrar: embeddedRegistrar({ port: registrarPort }), messages: [...messages, OnlyHere] }
      })
      // remote name addressing across processes
      const echo = Process.name("echo", b)
      yield* a.send(echo, { reply: a.probe, n: 1 })
      assert.deepStrictEqual(yield* a.receive("5 seconds"), { reply: a.probe, n: 1 })
      // a type only this side knows: dropped (and logged) there, the rest of the batch and the connection live
      yield* a.node.trySend(echo, { reply: a.probe, secret: new OnlyHere({ text: "x" }) })
      yield* a.node.trySend(echo, new OnlyHere({ text: "y" }))
      yield* a.send(echo, { reply: a.probe, n: 2 })
      assert.deepStrictEqual(yield* a.receive("5 seconds"), { reply: a.probe, n: 2 })
      const refused = yield* Effect.flip(a.call(echo as unknown as Process.Ref<never, OnlyHere>, new OnlyHere({ text: "z" }) as never, "5 seconds"))
      assert.strictEqual((refused as any)._tag, "TypeNotRegistered")
      const counter = yield* a.node.spawnRemote(b, "Counter", 1)
      assert.strictEqual(counter.creation, first.creation)
      yield* a.send(counter, new Increment({ by: 2 }))
      assert.strictEqual(yield* a.call(counter as Process.Ref<Increment, GetCount>, new GetCount()), 3)
      const linked = yield* a.spawn(Relay, a.probe, { trapExit: true } as any)
      yield* a.send(linked, { link: counter })
      yield* a.monitor(counter)
      yield* a.send(linked, { monitorNode: b })
      yield* Effect.sleep("100 millis")

      const t0 = Date.now()
      first.child.kill("SIGKILL")
      const down = yield* a.receiveMatching(isDown, "1 second")
      assert.strictEqual(down.reason._tag, "noconnection")
      const exit = yield* a.receiveMatching(isExit, "1 second")
      assert.strictEqual(exit.reason._tag, "noconnection")
      assert.deepStrictEqual(exit.from, counter)
      yield* a.receiveMatching((u): u is Process.NodeDown => u instanceof Process.NodeDown, "1 second")
      assert.isBelow(Date.now() - t0, 1000)

      // restart: the registrar moved to node a (takeover); the new incarnation has a new creation
      const second = yield* startChild(b, registrarPort)
      assert.notStrictEqual(second.creation, first.creation)
      const fresh = yield* a.node.spawnRemote(b, "Counter", 10)
      assert.strictEqual(fresh.creation, second.creation)
      assert.strictEqual(yield* a.call(fresh as Process.Ref<Increment, GetCount>, new GetCount(), "5 seconds"), 10)
      const stale = yield* Effect.flip(a.call(counter as Process.Ref<Increment, GetCount>, new GetCount(), "5 seconds"))
      assert.strictEqual(stale._tag, "ProcessUnknown")
    }), 60_000)
})
