import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Process, Supervisor } from "../../src/index.js"
import * as Testing from "../testing.js"
import type { WorkerCommand } from "./helpers.js"
import { Worker } from "./helpers.js"

const strategies = [
  ["one_for_one", Supervisor.oneForOne],
  ["one_for_all", Supervisor.allForOne],
  ["rest_for_one", Supervisor.restForOne]
] as const
const restarts = ["permanent", "transient", "temporary"] as const
const exits: ReadonlyArray<readonly [WorkerCommand, boolean]> = [["normal", false], ["crash", true], ["shutdown", false]]

const ids = ["a", "b", "c"] as const

/** Which children get new pids when `b` exits, by OTP's rules. */
const expected = (strategy: string, restart: string, abnormal: boolean): ReadonlyArray<string> => {
  const restarting = restart === "permanent" || (restart === "transient" && abnormal)
  if (!restarting) return []
  if (strategy === "one_for_one") return ["b"]
  if (strategy === "one_for_all") return ["a", "b", "c"]
  return ["b", "c"]
}

const pidsOf = (children: ReadonlyArray<Supervisor.ChildInfo>) =>
  Object.fromEntries(children.map((c) => [c.id, c.pid?.toString()])) as Record<string, string | undefined>

describe("supervisor strategies × restart types × exits", () => {
  for (const [strategyName, strategy] of strategies) {
    for (const restart of restarts) {
      for (const [command, abnormal] of exits) {
        it.scoped(`${strategyName}, ${restart} children, b exits ${command}`, () =>
          Effect.gen(function*() {
            const env = yield* Testing.make()
            const spec = ids.reduce(
              (s, id) => Supervisor.child({ id, behaviour: Worker, args: { id, probe: env.probe }, restart })(s),
              strategy({ intensity: 10 })
            )
            const sup = yield* Supervisor.start(env.node, spec)
            for (const id of ids) assert.strictEqual(yield* env.receive(), `started ${id}`)
            const children = yield* Supervisor.whichChildren(env.node, sup)
            const before = pidsOf(children)
            yield* env.send(children.find((c) => c.id === "b")!.pid!, command)
            const restarted = expected(strategyName, restart, abnormal)
            // OTP restarts in start order.
            for (const id of restarted) assert.strictEqual(yield* env.receive(), `started ${id}`)
            yield* env.expectNoMessage("20 millis")
            const after = pidsOf(yield* Supervisor.whichChildren(env.node, sup))
            for (const id of ids) {
              if (restarted.includes(id)) {
                assert.isDefined(after[id], `${id} restarted`)
                assert.notStrictEqual(after[id], before[id], `${id} has a new pid`)
              } else if (id === "b") {
                if (restart === "temporary") assert.notProperty(after, "b", "a temporary child is forgotten")
                else assert.isUndefined(after.b, "b is not running")
              } else {
                assert.strictEqual(after[id], before[id], `${id} untouched`)
              }
            }
            // The supervisor itself is fine.
            const alive = yield* env.node.info(sup)
            assert.strictEqual(alive._tag, "Some")
          }))
      }
    }
  }

  it.scoped("children stop in reverse start order when the supervisor stops", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const order: Array<string> = []
      const Tracked = Process.make({
        ...Worker,
        name: "Tracked",
        terminate: (_reason, state) => Effect.sync(() => void order.push(state.id))
      })
      const spec = ids.reduce(
        (s, id) => Supervisor.child({ id, behaviour: Tracked, args: { id, probe: env.probe } })(s),
        Supervisor.oneForOne()
      )
      const sup = yield* Supervisor.start(env.node, spec)
      yield* env.node.exit(sup, Process.ExitReason.shutdown)
      assert.strictEqual((yield* env.exitReason(sup))._tag, "shutdown")
      assert.deepStrictEqual(order, ["c", "b", "a"])
    }))
})
