import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { Effect } from "effect"
import { Process, Testing } from "../../src/index.js"

/** Starts test/fixtures/peer-node.ts as an OS process; resolves when it listens. */
const startPeer = (name: string) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ child: ChildProcess; port: number }>((resolve, reject) => {
          const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/peer-node.ts", name], {
            stdio: ["ignore", "pipe", "inherit"]
          })
          const timer = setTimeout(() => reject(new Error("peer did not start in 60 s")), 60_000)
          let out = ""
          child.stdout!.on("data", (chunk: Buffer) => {
            out += chunk.toString()
            const m = /ready (\d+) (\d+)/.exec(out)
            if (m !== null) {
              clearTimeout(timer)
              resolve({ child, port: Number(m[1]) })
            }
          })
          child.once("exit", (code) => reject(new Error(`peer exited with ${code}`)))
        })
    ),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )

describe("reconnect", () => {
  it.scopedLive("500 disconnect-then-send-and-call cycles between two OS processes: no failure, no lost send", () =>
    Effect.gen(function*() {
      const b = "b@127.0.0.1"
      const peer = yield* startPeer(b)
      const a = yield* Testing.make({
        name: "a@127.0.0.1",
        log: { level: "Error" },
        network: { cookie: "test-cookie", routes: { [b]: `127.0.0.1:${peer.port}` } }
      })
      const sink = Process.name("sink", b) as unknown as Process.Ref<number, string>
      const failures: Array<string> = []
      for (let i = 1; i <= 500; i++) {
        yield* a.node.disconnect(b)
        yield* a.node.send(sink, i)
        const count = yield* a.node.call(sink, "count", "5 seconds").pipe(
          Effect.catchAll((error) => Effect.sync(() => failures.push(`cycle ${i}: ${error._tag} ${error.message}`)))
        )
        if (typeof count === "number" && count !== i) failures.push(`cycle ${i}: sink counted ${count}`)
        if (failures.length > 5) break
      }
      assert.deepStrictEqual(failures, [])
    }), 120_000)
})
