/**
 * Group restarts (one_for_all, rest_for_one) and the children's counts, against the survivors
 * of the supervisor's mutation run (issue 24): each test fails when the line it guards is broken.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Process as P } from "../../src/index.js"
import { Process, Supervisor } from "../../src/index.js"
import * as Testing from "../testing.js"
import { childPid, Worker } from "./helpers.js"

/** Like `Worker`, and tells the probe when its `terminate` runs (it traps exits, so it always does). */
const Reporting = Process.make({
  name: "Reporting",
  options: { trapExit: true },
  init: (args: { readonly id: string; readonly probe: P.Pid }, ctx) => Effect.as(ctx.send(args.probe, `started ${args.id}`), args),
  handleMessage: (_: "crash", state) => Effect.fail(`${state.id} crashed`),
  terminate: (_reason, state, ctx) => Effect.orDie(ctx.send(state.probe, `terminated ${state.id}`))
})

const child = (id: string, probe: P.Pid, restart: "permanent" | "temporary" = "permanent") =>
  Supervisor.child({ id, behaviour: Reporting, args: { id, probe }, restart })

describe("group restarts", () => {
  it.scoped("one_for_all stops the others newest first, then starts them all again in order", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.allForOne().pipe(child("a", env.probe), child("b", env.probe), child("c", env.probe))
      )
      for (const id of ["a", "b", "c"]) assert.strictEqual(yield* env.receive(), `started ${id}`)
      yield* env.send((yield* childPid(env, sup, "b"))!, "crash")
      const seen: Array<unknown> = []
      for (let i = 0; i < 6; i++) seen.push(yield* env.receive())
      // b's own terminate runs as it crashes; then c and a are stopped, newest first
      assert.deepStrictEqual(seen, ["terminated b", "terminated c", "terminated a", "started a", "started b", "started c"])
    }))

  it.scoped("a temporary child stopped by a group restart is not started again, and leaves the child list", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.restForOne().pipe(child("a", env.probe), child("t", env.probe, "temporary"), child("c", env.probe))
      )
      for (const id of ["a", "t", "c"]) assert.strictEqual(yield* env.receive(), `started ${id}`)
      yield* env.send((yield* childPid(env, sup, "a"))!, "crash")
      const seen: Array<unknown> = []
      for (let i = 0; i < 5; i++) seen.push(yield* env.receive())
      assert.deepStrictEqual(seen, ["terminated a", "terminated c", "terminated t", "started a", "started c"])
      yield* env.expectNoMessage("20 millis")
      assert.deepStrictEqual((yield* Supervisor.whichChildren(env.node, sup)).map((c) => c.id), ["a", "c"])
    }))
})

describe("countChildren", () => {
  it.scoped("counts the specs, the running children, and supervisors apart from workers", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.oneForOne().pipe(
          Supervisor.child({ id: "w1", behaviour: Worker, args: { id: "w1", probe: env.probe } }),
          Supervisor.child({ id: "inner", behaviour: Supervisor.behaviour(Supervisor.oneForOne()), args: undefined, type: "supervisor" }),
          Supervisor.child({ id: "w2", behaviour: Worker, args: { id: "w2", probe: env.probe }, restart: "temporary" })
        )
      )
      assert.deepStrictEqual(
        { ...(yield* Supervisor.countChildren(env.node, sup)) },
        { specs: 3, active: 3, supervisors: 1, workers: 2 }
      )
      yield* Supervisor.terminateChild(env.node, sup, "w1")
      assert.deepStrictEqual(
        { ...(yield* Supervisor.countChildren(env.node, sup)) },
        { specs: 3, active: 2, supervisors: 1, workers: 2 }
      )
    }))
})
