import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Supervisor } from "../../src/index.js"
import * as Testing from "../testing.js"
import { Worker, childPid } from "./helpers.js"

describe("significant children", () => {
  it.scoped("all_significant: the supervisor ends only when the last significant child has ended", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.oneForOne({ autoShutdown: "all_significant" }).pipe(
          Supervisor.child({ id: "a", behaviour: Worker, args: { id: "a", probe: env.probe }, restart: "transient", significant: true }),
          Supervisor.child({ id: "b", behaviour: Worker, args: { id: "b", probe: env.probe }, restart: "transient", significant: true }),
          Supervisor.child({ id: "other", behaviour: Worker, args: { id: "other", probe: env.probe } })
        )
      )
      for (let i = 0; i < 3; i++) yield* env.receive()
      const a = (yield* childPid(env, sup, "a"))!
      yield* env.send(a, "normal")
      yield* env.exitReason(a)
      const counts = yield* Supervisor.countChildren(env.node, sup)
      assert.strictEqual(counts.active, 2, "the supervisor lives on while b runs")
      const b = (yield* childPid(env, sup, "b"))!
      yield* env.send(b, "normal")
      assert.strictEqual((yield* env.exitReason(sup))._tag, "shutdown")
    }))

  it.scoped("any_significant: a non-significant child ending does not end the supervisor", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sup = yield* Supervisor.start(
        env.node,
        Supervisor.oneForOne({ autoShutdown: "any_significant" }).pipe(
          Supervisor.child({ id: "main", behaviour: Worker, args: { id: "main", probe: env.probe }, restart: "transient", significant: true }),
          Supervisor.child({ id: "other", behaviour: Worker, args: { id: "other", probe: env.probe }, restart: "transient" })
        )
      )
      yield* env.receive()
      yield* env.receive()
      const other = (yield* childPid(env, sup, "other"))!
      yield* env.send(other, "normal")
      yield* env.exitReason(other)
      const counts = yield* Supervisor.countChildren(env.node, sup)
      assert.strictEqual(counts.active, 1)
      const main = (yield* childPid(env, sup, "main"))!
      yield* env.send(main, "normal")
      assert.strictEqual((yield* env.exitReason(sup))._tag, "shutdown")
    }))
})
