import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Option, Schedule, TestClock } from "effect"
import { Process, Supervisor } from "../../src/index.js"
import * as Testing from "../testing.js"
import { within } from "../Process/helpers.js"
import { Broken, Stubborn, Worker, childPid } from "./helpers.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"

const crash = (env: Testing.TestEnv, sup: Process.Pid, id: string) =>
  Effect.gen(function*() {
    const pid = yield* childPid(env, sup, id)
    assert.isDefined(pid, `${id} is running`)
    yield* env.send(pid!, "crash")
    yield* env.exitReason(pid!)
  })

describe("restart intensity", () => {
  it.scoped("OTP's default, 1 restart in 5 s: a second crash inside the period ends the supervisor with shutdown", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.oneForOne().pipe(Supervisor.child({ id: "w", behaviour: Worker, args: { id: "w", probe: env.probe } }))
      )
      yield* env.receive()
      yield* crash(env, sup, "w")
      assert.strictEqual(yield* env.receive(), "started w")
      yield* TestClock.adjust("4 seconds")
      yield* crash(env, sup, "w")
      assert.strictEqual((yield* env.exitReason(sup))._tag, "shutdown")
    }))

  it.scoped("restarts spread across periods never reach the intensity", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.oneForOne({ intensity: 2, period: "5 seconds" }).pipe(
          Supervisor.child({ id: "w", behaviour: Worker, args: { id: "w", probe: env.probe } })
        )
      )
      yield* env.receive()
      for (let i = 0; i < 6; i++) {
        yield* crash(env, sup, "w")
        assert.strictEqual(yield* env.receive(), "started w")
        yield* TestClock.adjust("3 seconds")
      }
      assert.isTrue(Option.isSome(yield* env.node.info(sup)))
      yield* TestClock.adjust("5 seconds")
      // Now three inside one period: past intensity 2.
      for (let i = 0; i < 2; i++) {
        yield* crash(env, sup, "w")
        yield* env.receive()
      }
      yield* crash(env, sup, "w")
      assert.strictEqual((yield* env.exitReason(sup))._tag, "shutdown")
    }))

  it.scoped("a backoff schedule delays the restart", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.oneForOne({ intensity: 5, backoff: Schedule.exponential("1 second") }).pipe(
          Supervisor.child({ id: "w", behaviour: Worker, args: { id: "w", probe: env.probe } })
        )
      )
      yield* env.receive()
      yield* crash(env, sup, "w")
      yield* TestClock.adjust("999 millis")
      yield* env.expectNoMessage("10 millis")
      assert.isUndefined(yield* childPid(env, sup, "w"))
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* env.receive(), "started w")
      // the second restart waits twice as long
      yield* crash(env, sup, "w")
      yield* TestClock.adjust("1999 millis")
      yield* env.expectNoMessage("10 millis")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* env.receive(), "started w")
    }))
})

describe("giving up", () => {
  it.scoped("a supervisor past its intensity stops its other children in reverse start order, then ends with shutdown", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const order: Array<string> = []
      const Tracked = Process.make({
        ...Worker,
        name: "Tracked",
        terminate: (reason, state) => Effect.sync(() => void order.push(`${state.id}:${reason._tag}`))
      })
      const spec = ["a", "b", "c", "d"].reduce(
        (s, id) => Supervisor.child({ id, behaviour: Tracked, args: { id, probe: env.probe } })(s),
        Supervisor.oneForOne({ intensity: 0 })
      )
      const sup = yield* Supervisor.start(env.node, spec)
      for (const id of ["a", "b", "c", "d"]) assert.strictEqual(yield* env.receive(), `started ${id}`)
      const b = (yield* childPid(env, sup, "b"))!
      yield* env.send(b, "crash")
      assert.strictEqual((yield* env.exitReason(sup))._tag, "shutdown")
      // b crashed (its terminate ran with its error); the others were stopped newest first
      assert.deepStrictEqual(order, ["b:error", "d:shutdown", "c:shutdown", "a:shutdown"])
      assert.strictEqual((yield* env.node.processes).length, 1) // the probe alone
      yield* env.expectNoMessage("20 millis") // and nothing was restarted
    }))
})

describe("shutdown", () => {
  it.scoped("a child whose terminate does not finish is killed after its shutdown timeout", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.oneForOne().pipe(Supervisor.child({ id: "s", behaviour: Stubborn, args: undefined, shutdown: 2000 }))
      )
      const pid = (yield* childPid(env, sup, "s"))!
      const terminating = yield* Effect.fork(Supervisor.terminateChild(env.node, sup, "s"))
      yield* TestClock.adjust("1999 millis")
      assert.isTrue(Option.isSome(yield* env.node.info(pid)), "still alive before the timeout")
      yield* TestClock.adjust("1 millis")
      yield* within(Fiber.join(terminating), "terminateChild to return", 5)
      assert.strictEqual((yield* env.exitReason(pid))._tag, "killed")
      // terminated, not deleted: the spec remains and can be restarted
      const restarted = yield* Supervisor.restartChild(env.node, sup, "s")
      assert.notDeepEqual(restarted, pid)
      // Stopped again before the test ends: its terminate would hold up the node's shutdown.
      const again = yield* Effect.fork(Supervisor.terminateChild(env.node, sup, "s"))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(again)
    }))

  it.scoped("brutal_kill kills at once; a cooperative child gets shutdown", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.oneForOne().pipe(
          Supervisor.child({ id: "s", behaviour: Stubborn, args: undefined, shutdown: "brutal_kill" }),
          Supervisor.child({ id: "w", behaviour: Worker, args: { id: "w", probe: env.probe } })
        )
      )
      yield* env.receive()
      const s = (yield* childPid(env, sup, "s"))!
      const w = (yield* childPid(env, sup, "w"))!
      yield* Supervisor.terminateChild(env.node, sup, "s")
      assert.strictEqual((yield* env.exitReason(s))._tag, "killed")
      yield* Supervisor.terminateChild(env.node, sup, "w")
      assert.strictEqual((yield* env.exitReason(w))._tag, "shutdown")
      // Terminated children are not restarted behind our back.
      yield* env.expectNoMessage("20 millis")
      const counts = yield* Supervisor.countChildren(env.node, sup)
      assert.strictEqual(counts.specs, 2)
      assert.strictEqual(counts.active, 0)
    }))
})

describe("start", () => {
  it.scoped("a child failing in init fails the supervisor's start, naming the child; earlier children are stopped", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const error = yield* Effect.flip(Supervisor.start(
        env.node,
        Supervisor.oneForOne().pipe(
          Supervisor.child({ id: "ok", behaviour: Worker, args: { id: "ok", probe: env.probe }, name: "ok" }),
          Supervisor.child({ id: "broken", behaviour: Broken, args: undefined })
        )
      ))
      assert.strictEqual(error._tag, "InitFailed")
      assert.include(error.message, "broken")
      assert.include(error.message, "missing config")
      assert.deepStrictEqual(yield* env.node.whereis("ok"), Option.none())
      assert.strictEqual((yield* env.node.processes).length, 1) // the probe alone
    }))

  it.scoped("run-time API: start, terminate, restart, delete, which and count", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sup = yield* Supervisor.start(env.node, Supervisor.oneForOne())
      const pid = yield* Supervisor.startChild(env.node, sup, { id: "x", behaviour: Worker, args: { id: "x", probe: env.probe } })
      assert.strictEqual(yield* env.receive(), "started x")
      assert.strictEqual(yield* env.call(pid as Process.Pid, "ping"), "pong")
      const dup = yield* Effect.flip(Supervisor.startChild(env.node, sup, { id: "x", behaviour: Worker, args: { id: "x", probe: env.probe } }))
      assert.strictEqual(dup._tag, "ChildAlreadyPresent")
      assert.strictEqual((yield* Effect.flip(Supervisor.deleteChild(env.node, sup, "x")))._tag, "ChildRunning")
      yield* Supervisor.terminateChild(env.node, sup, "x")
      assert.strictEqual((yield* Effect.flip(Supervisor.restartChild(env.node, sup, "nope")))._tag, "ChildNotFound")
      yield* Supervisor.restartChild(env.node, sup, "x")
      assert.strictEqual(yield* env.receive(), "started x")
      yield* Supervisor.terminateChild(env.node, sup, "x")
      yield* Supervisor.deleteChild(env.node, sup, "x")
      assert.deepStrictEqual(yield* Supervisor.whichChildren(env.node, sup), [])
      const bad = yield* Effect.flip(Supervisor.startChild(env.node, sup, { id: "b", behaviour: Broken, args: undefined }))
      assert.strictEqual(bad._tag, "ChildStartFailed")
    }))
})

describe("trees", () => {
  it.scoped("a leaf crash storm climbs exactly one level: the middle supervisor gives up, the root restarts it", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const middle = Supervisor.oneForOne({ intensity: 1 }).pipe(
        Supervisor.child({ id: "leaf", behaviour: Worker, args: { id: "leaf", probe: env.probe } })
      )
      const top = Supervisor.oneForOne({ intensity: 3 }).pipe(
        Supervisor.child({ id: "middle", behaviour: Supervisor.behaviour(middle), args: undefined, type: "supervisor" }),
        Supervisor.child({ id: "sibling", behaviour: Worker, args: { id: "sibling", probe: env.probe } })
      )
      const root = Supervisor.oneForOne({ intensity: 3 }).pipe(
        Supervisor.child({ id: "top", behaviour: Supervisor.behaviour(top), args: undefined, type: "supervisor" })
      )
      const rootPid = yield* Supervisor.start(env.node, root)
      assert.strictEqual(yield* env.receive(), "started leaf")
      assert.strictEqual(yield* env.receive(), "started sibling")
      const topPid = (yield* childPid(env, rootPid, "top"))!
      const middlePid = (yield* childPid(env, topPid, "middle"))!
      const siblingPid = (yield* childPid(env, topPid, "sibling"))!
      yield* crash(env, middlePid, "leaf")
      assert.strictEqual(yield* env.receive(), "started leaf")
      yield* crash(env, middlePid, "leaf") // second in 5 s: middle gives up
      assert.strictEqual((yield* env.exitReason(middlePid))._tag, "shutdown")
      assert.strictEqual(yield* env.receive(), "started leaf") // top restarted middle, which started a new leaf
      const newMiddle = (yield* childPid(env, topPid, "middle"))!
      assert.notDeepEqual(newMiddle, middlePid)
      assert.deepStrictEqual(yield* childPid(env, topPid, "sibling"), siblingPid, "the sibling was not touched")
      assert.deepStrictEqual(yield* childPid(env, rootPid, "top"), topPid, "the root did not restart top")
    }))

  it.scoped("significant child with autoShutdown any_significant ends the supervisor", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.oneForOne({ autoShutdown: "any_significant" }).pipe(
          Supervisor.child({ id: "main", behaviour: Worker, args: { id: "main", probe: env.probe }, restart: "transient", significant: true }),
          Supervisor.child({ id: "other", behaviour: Worker, args: { id: "other", probe: env.probe } })
        )
      )
      yield* env.receive()
      yield* env.receive()
      const main = (yield* childPid(env, sup, "main"))!
      yield* env.send(main, "normal")
      assert.strictEqual((yield* env.exitReason(sup))._tag, "shutdown")
    }))
})

describe("simple_one_for_one", () => {
  for (const restart of ["permanent", "transient", "temporary"] as const) {
    for (const [command, abnormal] of [["normal", false], ["shutdown", false], ["crash", true]] as const) {
      it.scoped(`a ${restart} dynamic child that exits ${command} is ${
        restart === "permanent" || (restart === "transient" && abnormal) ? "restarted with its own args" : "forgotten"
      }`, () =>
        Effect.gen(function*() {
          const env = yield* Testing.make()
          const sup = yield* Supervisor.start(
            env.node,
            Supervisor.simpleOneForOne({ id: "w", behaviour: Worker, args: { id: "template", probe: env.probe }, restart }, {
              intensity: 10
            })
          )
          const x = yield* Supervisor.startChild(env.node, sup, { id: "x", probe: env.probe })
          const y = yield* Supervisor.startChild(env.node, sup, { id: "y", probe: env.probe })
          assert.strictEqual(yield* env.receive(), "started x")
          assert.strictEqual(yield* env.receive(), "started y")
          yield* env.send(x, command)
          yield* env.exitReason(x)
          const restarted = restart === "permanent" || (restart === "transient" && abnormal)
          if (restarted) assert.strictEqual(yield* env.receive(), "started x")
          yield* env.expectNoMessage("20 millis")
          const children = yield* Supervisor.whichChildren(env.node, sup)
          const pids = children.map((c) => c.pid?.toString())
          assert.strictEqual(children.length, restarted ? 2 : 1)
          assert.include(pids, y.toString(), "the sibling is untouched")
          assert.notInclude(pids, x.toString(), "the exited child is not listed under its old pid")
          assert.strictEqual((yield* Supervisor.countChildren(env.node, sup)).active, restarted ? 2 : 1)
        }))
    }
  }


  it.scoped("10k dynamic children: start, count, terminate", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Cell = Process.make({ name: "Cell", init: (n: number) => Effect.succeed(n) })
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.simpleOneForOne({ id: "cell", behaviour: Cell, args: 0, restart: "transient" })
      )
      const pids: Array<Process.Pid> = []
      for (let i = 0; i < 10_000; i++) pids.push(yield* Supervisor.startChild(env.node, sup, i))
      const counts = yield* Supervisor.countChildren(env.node, sup)
      assert.strictEqual(counts.active, 10_000)
      assert.strictEqual(yield* env.state<number>(pids[1234]!).pipe(Effect.map(Option.getOrThrow)), 1234)
      // a crashed (killed) transient child is restarted; terminateChild by pid removes it
      yield* Supervisor.terminateChild(env.node, sup, pids[0]!)
      assert.strictEqual((yield* Supervisor.countChildren(env.node, sup)).specs, 9_999)
      yield* env.node.exit(sup, Process.ExitReason.shutdown)
      // 10k children stop one by one: more than exitReason's 10 s on a loaded machine
      assert.strictEqual((yield* within(env.node.awaitExit(sup), "the supervisor to stop 10k children", 40))._tag, "shutdown")
      assert.strictEqual(kernelOf(env.node).procs.size, 1)
    }), { timeout: 60_000 })
})

describe("layer", () => {
  it.effect("Supervisor.layer starts the tree with the layer and stops it with its scope", () =>
    Effect.gen(function*() {
      const { Node } = yield* Effect.promise(() => import("../../src/index.js"))
      let terminated = 0
      const Counted = Process.make({ name: "Counted", init: () => Effect.void, terminate: () => Effect.sync(() => void terminated++) })
      const spec = Supervisor.oneForOne().pipe(Supervisor.child({ id: "c", behaviour: Counted, args: undefined }))
      const pid = yield* Effect.gen(function*() {
        const { pid } = yield* Supervisor.Supervisor
        return pid
      }).pipe(Effect.provide(Supervisor.layer(spec)), Effect.provide(Node.layer("layer@localhost")))
      assert.strictEqual(pid.node, "layer@localhost")
      assert.strictEqual(terminated, 1)
    }))
})
