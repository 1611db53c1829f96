import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import type { Process as P } from "../../src/index.js"
import { Process, Supervisor, Testing } from "../../src/index.js"
import { childPid, Worker } from "./helpers.js"

/** Traps exits, forwards `Exit` messages to the probe, and tells it when terminate runs and why. */
const Trapper = Process.make({
  name: "Trapper",
  options: { trapExit: true },
  init: (probe: P.Pid) => Effect.succeed(probe),
  handleInfo: (info, probe, ctx) => Effect.as(ctx.send(probe, info), probe),
  terminate: (reason, probe, ctx) => Effect.orDie(ctx.send(probe, `terminate ${reason._tag}`))
})

/** Sends an exit signal to whoever it is told to. */
const Signaller = Process.make({
  name: "Signaller",
  init: () => Effect.void,
  handleMessage: (m: { readonly to: P.Pid; readonly reason: P.Reason }, s, ctx) => Effect.as(ctx.exit(m.to, m.reason), s)
})

/** Spawns a Trapper linked (its parent) and hands its pid to the probe; stops on "stop". */
const Parent = Process.make({
  name: "Parent",
  init: (probe: P.Pid, ctx) =>
    ctx.spawnLink(Trapper, probe).pipe(Effect.flatMap((child) => ctx.send(probe, child)), Effect.orDie, Effect.as(probe)),
  handleMessage: (reason: P.Reason, probe, ctx) => Effect.as(ctx.stop(reason), probe)
})

describe("exit signals from the parent (gen_server)", () => {
  it.scoped("a trapping process runs terminate on its parent's exit signal; others' arrive as Exit messages", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const parent = yield* env.spawn(Parent, env.probe)
      const child = (yield* env.receive()) as P.Pid
      const signaller = yield* env.spawn(Signaller, undefined)
      // Not the parent: an Exit message, and the process lives on.
      yield* env.send(signaller, { to: child, reason: Process.ExitReason.error("not yours") })
      const info = yield* env.receive()
      assert.instanceOf(info, Process.Exit)
      assert.isTrue(Option.isSome(yield* env.node.info(child)))
      // The parent ends: the child runs terminate with the parent's reason and exits with it.
      yield* env.send(parent, Process.ExitReason.error("parent crashed"))
      assert.strictEqual(yield* env.receive(), "terminate error")
      assert.strictEqual((yield* env.exitReason(child))._tag, "error")
    }))

  it.scoped("node.exit ends a trapping process spawned by node.spawn through terminate (the node is its parent)", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Trapper, env.probe)
      yield* env.node.exit(pid, Process.ExitReason.shutdown)
      assert.strictEqual(yield* env.receive(), "terminate shutdown")
      assert.strictEqual((yield* env.exitReason(pid))._tag, "shutdown")
    }))

  it.scoped("a supervisor giving up stops a trapping child through terminate, without waiting out its shutdown timeout", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.oneForOne({ intensity: 0 }).pipe(
          Supervisor.child({ id: "trapper", behaviour: Trapper, args: env.probe, shutdown: 2000 }),
          Supervisor.child({ id: "worker", behaviour: Worker, args: { id: "worker", probe: env.probe } })
        )
      )
      assert.strictEqual(yield* env.receive(), "started worker")
      const worker = (yield* childPid(env, sup, "worker"))!
      yield* env.send(worker, "crash")
      // No TestClock.adjust: the 2 s shutdown timeout never passes, so only terminate can end it.
      assert.strictEqual(yield* env.receive(), "terminate shutdown")
      assert.strictEqual((yield* env.exitReason(sup))._tag, "shutdown")
      const logs = yield* env.logs
      assert.isTrue(logs.some((l) => l.message.includes("giving up") && l.annotations.report === "supervisor"))
    }))
})

describe("a supervisor and exit signals from strangers", () => {
  it.scoped("ignores an exit signal from a process that is neither its child nor its parent, and logs it; kill still kills", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.oneForOne().pipe(Supervisor.child({ id: "w", behaviour: Worker, args: { id: "w", probe: env.probe } }))
      )
      yield* env.receive()
      const worker = (yield* childPid(env, sup, "w"))!
      const stranger = yield* env.spawn(Signaller, undefined)
      yield* env.send(stranger, { to: sup, reason: Process.ExitReason.error("take the tree down") })
      // Still answering, same child.
      const children = yield* Supervisor.whichChildren(env.node, sup)
      assert.deepStrictEqual(children.map((c) => c.pid), [worker])
      const logs = yield* env.logs
      const line = logs.find((l) => l.message.includes("ignored an exit signal"))
      assert.isDefined(line)
      assert.strictEqual(line!.annotations.from, stranger.toString())
      yield* env.send(stranger, { to: sup, reason: Process.ExitReason.kill })
      assert.strictEqual((yield* env.exitReason(sup))._tag, "killed")
    }))
})

describe("supervisor reports", () => {
  it.scoped("each restart is logged with the child's id, pid and reason", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.oneForOne({ intensity: 5 }).pipe(
          Supervisor.child({ id: "w", behaviour: Worker, args: { id: "w", probe: env.probe } })
        )
      )
      yield* env.receive()
      const worker = (yield* childPid(env, sup, "w"))!
      yield* env.send(worker, "crash")
      assert.strictEqual(yield* env.receive(), "started w")
      const report = (yield* env.logs).find((l) => l.annotations.errorContext === "child_terminated")
      assert.isDefined(report)
      assert.strictEqual(report!.level, "ERROR")
      assert.strictEqual(report!.annotations.child, "w")
      assert.strictEqual(report!.annotations.pid, worker.toString())
      assert.include(String(report!.annotations.reason), "w crashed")
      assert.include(report!.message, "restarting")
    }))
})
