import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import { stackDepth } from "../../src/Process/internal/runLoop.js"
import { clockTimerCount, within } from "./helpers.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"

/** Links to its neighbour, monitors it, registers a name and sets a timer: every table gets an entry. */
const Busy = Process.make({
  name: "Busy",
  init: (args: { readonly i: number; readonly prev: Process.Pid | undefined }, ctx) =>
    Effect.gen(function*() {
      if (args.prev !== undefined) {
        yield* ctx.link(args.prev)
        yield* ctx.monitor(args.prev)
      }
      if (args.i % 10 === 0) yield* ctx.register(`busy-${args.i}`)
      yield* ctx.sendAfter(ctx.self, "tick", "1 hour")
      yield* ctx.alias()
      return args.i
    }),
  // "park": a handler that never ends, so that its process holds a fiber when it is stopped
  handleMessage: (msg: string, s) => (msg === "park" ? Effect.as(Effect.never, s) : Effect.succeed(s))
})

describe("scale", () => {
  it.scoped("100k processes spawned and stopped leave no fiber, timer, link, monitor, name or alias behind", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const N = 100_000
      let prev: Process.Pid | undefined
      const pids: Array<Process.Pid> = []
      for (let i = 0; i < N; i++) {
        prev = yield* env.spawn(Busy, { i, prev })
        pids.push(prev)
      }
      assert.strictEqual(kernel.procs.size, N + 1)
      assert.strictEqual(kernel.names.size, N / 10)
      assert.strictEqual(kernel.aliases.size, N)
      assert.strictEqual(clockTimerCount(env.node), N, "one sendAfter timer each")
      // one process in 1,000 is inside a handler that suspended: it runs on a fiber
      for (let i = 0; i < N; i += 1000) yield* env.send(pids[i]!, "park")
      yield* env.send(env.probe, "sync")
      assert.strictEqual(yield* env.receive(), "sync")
      const fibers = pids.flatMap((pid) => kernel.lookup(pid)?.fiber ?? [])
      assert.strictEqual(fibers.length, N / 1000)
      // Stop them all: linked, so one exit with a trappable reason takes the whole chain down.
      yield* env.node.exit(pids[N - 1]!, Process.ExitReason.error("stop the chain"))
      for (let i = 0; i < N; i += 9_973) yield* env.exitReason(pids[i]!)
      yield* env.exitReason(pids[0]!)
      assert.strictEqual(kernel.procs.size, 1)
      assert.strictEqual(kernel.names.size, 0)
      assert.strictEqual(kernel.aliases.size, 0)
      assert.strictEqual(kernel.pending.size, 0)
      assert.strictEqual(clockTimerCount(env.node), 0, "every timer was cancelled and dropped")
      // each parked handler's fiber was interrupted (interruption completes asynchronously)
      for (const fiber of fibers) {
        const exit = yield* within(Fiber.await(fiber), "a stopped process's handler fiber to end", 5)
        assert.isTrue(Exit.isInterrupted(exit), "the fiber was interrupted")
      }
      const probe = kernel.lookup(env.probe)!
      assert.isNull(probe.links)
      assert.isNull(probe.watchers)
      assert.strictEqual(stackDepth(), 0)
    }), { timeout: 120_000 })
})
