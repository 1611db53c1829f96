import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { Effect, Exit, Fiber, Scope } from "effect"
import { Pool } from "../../src/index.js"
import { cluster } from "../fixtures/dist.js"
import { poolNetwork, RemoteWorker, Stall, Where } from "../fixtures/pool.js"
import * as Testing from "../testing.js"

const network = poolNetwork
const within = <A, E, R>(what: string, effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(effect, { duration: "20 seconds", onTimeout: () => new Error(`${what} took over 20 s`) })

describe("Pool across nodes", () => {
  it.scopedLive("places workers on other nodes, answers remote callers, and treats a lost node as a crash of its workers", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1", network)
      const bScope = yield* Scope.make()
      const b = yield* Scope.extend(make("b@127.0.0.1", network), bScope)
      const pool = yield* a.spawn(
        Pool.make({ worker: RemoteWorker, args: undefined, size: 4, nodes: ["a@127.0.0.1", "b@127.0.0.1"] }),
        undefined
      )
      const stats = yield* Pool.stats(a.node, pool)
      assert.deepStrictEqual(stats.workers.map((p) => p.node), ["a@127.0.0.1", "b@127.0.0.1", "a@127.0.0.1", "b@127.0.0.1"])
      // round-robin over both nodes; the remote workers answer the caller on a
      const answers: Array<string> = []
      for (let i = 0; i < 4; i++) answers.push(yield* Pool.call(a.node, pool, new Where()))
      assert.deepStrictEqual(answers, stats.workers.map((p) => `${p.node} ${p}`))
      // a caller on b gets answers from workers on both nodes
      const fromB: Array<string> = []
      for (let i = 0; i < 4; i++) fromB.push(yield* within("a call from b", Pool.call(b.node, pool, new Where(), "10 seconds")))
      assert.sameMembers(fromB.map((s) => s.split(" ")[0]!), ["a@127.0.0.1", "b@127.0.0.1", "a@127.0.0.1", "b@127.0.0.1"])
      // the pool's control requests work from b too
      assert.strictEqual((yield* Pool.stats(b.node, pool)).size, 4)
      // a call in flight at a worker on b (the next in turn is workers[0] on a, then workers[1] on b)
      yield* Pool.call(a.node, pool, new Where())
      const stalled = yield* Effect.fork(Pool.call(a.node, pool, new Stall(), "infinity"))
      yield* Effect.sleep("200 millis")
      // b goes down: the stalled call fails at once, and b's workers are restarted, on a since b is gone
      yield* Scope.close(bScope, Exit.void)
      const failed = yield* within("the stalled call to fail", Effect.flip(Fiber.join(stalled)))
      assert.strictEqual(failed._tag, "NoConnection")
      let after = yield* Pool.stats(a.node, pool)
      for (let i = 0; i < 200 && after.restarts < 2; i++) {
        yield* Effect.sleep("50 millis")
        after = yield* Pool.stats(a.node, pool)
      }
      assert.strictEqual(after.restarts, 2)
      assert.deepStrictEqual(after.workers.map((p) => p.node), Array(4).fill("a@127.0.0.1"))
      for (let i = 0; i < 4; i++) assert.match(yield* Pool.call(a.node, pool, new Where()), /^a@127\.0\.0\.1 /)
    }), { timeout: 60_000 })

  it.scopedLive("a worker node in another OS process killed with SIGKILL: its calls fail at once, its workers restart here", () =>
    Effect.gen(function*() {
      const b = "b@127.0.0.1"
      const peer = yield* startPeer(b)
      const a = yield* Testing.make({
        name: "a@127.0.0.1",
        log: { level: "Error" },
        network: { cookie: "test-cookie", routes: { [b]: `127.0.0.1:${peer.port}` }, ...poolNetwork }
      })
      const pool = yield* a.spawn(
        Pool.make({ worker: RemoteWorker, args: undefined, size: 2, nodes: [b, "a@127.0.0.1"] }),
        undefined
      )
      const before = yield* Pool.stats(a.node, pool)
      assert.deepStrictEqual(before.workers.map((p) => p.node), [b, "a@127.0.0.1"])
      assert.match(yield* within("a call to b's worker", Pool.call(a.node, pool, new Where(), "10 seconds")), /^b@127\.0\.0\.1 /)
      yield* Pool.call(a.node, pool, new Where())
      // the next call goes to b's worker and stays there
      const stalled = yield* Effect.fork(Pool.call(a.node, pool, new Stall(), "infinity"))
      yield* Effect.sleep("200 millis")
      yield* Effect.sync(() => peer.child.kill("SIGKILL"))
      const failed = yield* within("the stalled call to fail", Effect.flip(Fiber.join(stalled)))
      assert.strictEqual(failed._tag, "NoConnection")
      let after = yield* Pool.stats(a.node, pool)
      for (let i = 0; i < 200 && after.restarts < 1; i++) {
        yield* Effect.sleep("50 millis")
        after = yield* Pool.stats(a.node, pool)
      }
      assert.strictEqual(after.restarts, 1)
      assert.deepStrictEqual(after.workers.map((p) => p.node), ["a@127.0.0.1", "a@127.0.0.1"])
      for (let i = 0; i < 2; i++) assert.match(yield* Pool.call(a.node, pool, new Where()), /^a@127\.0\.0\.1 /)
    }), { timeout: 60_000 })
})

/** Starts test/fixtures/pool-peer.ts as an OS process; resolves when it listens. */
const startPeer = (name: string) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ child: ChildProcess; port: number }>((resolve, reject) => {
          const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/pool-peer.ts", name], {
            stdio: ["ignore", "pipe", "inherit"]
          })
          const timer = setTimeout(() => reject(new Error("peer did not start in 30 s")), 30_000)
          let out = ""
          child.stdout!.on("data", (chunk: Buffer) => {
            out += chunk.toString()
            const m = /ready (\d+)/.exec(out)
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
