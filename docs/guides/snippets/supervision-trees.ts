// Code of docs/guides/supervision-trees.md (type-checked by `npm run typecheck`).
import { Effect, Layer, Schedule } from "effect"
import { Application, Node, Pool, Process, Supervisor } from "rain"

const Worker = Process.make({
  name: "Worker",
  init: (config: string) => Effect.succeed(config),
  handleMessage: (msg: "crash", state) => msg === "crash" ? Effect.die(new Error("crash")) : Effect.succeed(state)
})

export const tree = Supervisor.oneForOne({
  intensity: 3,
  period: "5 seconds",
  backoff: Schedule.exponential("10 millis")
}).pipe(
  Supervisor.child({ id: "worker1", behaviour: Worker, args: "worker1_config" }),
  Supervisor.child({ id: "worker2", behaviour: Worker, args: "worker2_config", restart: "transient", shutdown: 2000 })
)

export const nested = Supervisor.restForOne().pipe(
  Supervisor.child({ id: "db", behaviour: Worker, args: "db" }),
  Supervisor.child({ id: "workers", behaviour: Supervisor.behaviour(tree), args: undefined, type: "supervisor" })
)

export const program = Effect.scoped(Effect.gen(function*() {
  const node = yield* Node.start("sup@localhost")
  const sup = yield* Supervisor.start(node, tree)
  const children = yield* Supervisor.whichChildren(node, sup)
  yield* Supervisor.terminateChild(node, sup, "worker1")
  yield* Supervisor.restartChild(node, sup, "worker1")
  return children.map((child) => child.id)
}))

// simple_one_for_one: many children of one spec, started at run time
const Connection = Process.make({ name: "Connection", init: (peer: string) => Effect.succeed(peer) })

export const pool = Effect.scoped(Effect.gen(function*() {
  const node = yield* Node.start("pool@localhost")
  const sup = yield* Supervisor.start(
    node,
    Supervisor.simpleOneForOne({ id: "conn", behaviour: Connection, args: "", restart: "temporary" })
  )
  return yield* Supervisor.startChild(node, sup, "10.0.0.7:4000")
}))

// a tree as a Layer: started with the layer, stopped with its scope
export const live = Supervisor.layer(tree).pipe(Layer.provide(Node.layer("app@localhost")))

// --- Pools restart their workers
export const withPool = Supervisor.oneForOne().pipe(
  Supervisor.child({ id: "cache", behaviour: Worker, args: "cache" }),
  Supervisor.child({
    id: "resizers",
    behaviour: Pool.make({ worker: Worker, args: "resize", size: 4, intensity: 20, period: "10 seconds" }),
    args: undefined,
    name: "resizers"
  })
)

// --- Upgrades and supervisors
const WorkerV2 = Process.make({
  name: "Worker",
  version: 2,
  init: (config: string) => Effect.succeed({ config, handled: 0 }),
  handleMessage: (msg: "crash", state) =>
    msg === "crash" ? Effect.die(new Error("crash")) : Effect.succeed({ ...state, handled: state.handled + 1 }),
  codeChange: (_oldVersion, config: string) => Effect.succeed({ config, handled: 0 })
})

export const upgradeWorkers = (node: Node.NodeService) =>
  Effect.gen(function*() {
    const report = yield* node.upgrade(Worker, WorkerV2)
    return report.supervisors // how many supervisors now start WorkerV2 on a restart
  })

export const ShopV1 = Application.make({ name: "shop", version: "1.0.0", root: tree })

export const ShopV2 = Application.make({
  name: "shop",
  version: "1.1.0",
  root: Supervisor.oneForOne({ intensity: 3, period: "5 seconds" }).pipe(
    Supervisor.child({ id: "worker1", behaviour: WorkerV2, args: "worker1_config" }),
    Supervisor.child({ id: "audit", behaviour: WorkerV2, args: "audit_config" })
  )
})

export const upgradeShop = (node: Node.NodeService) =>
  Effect.gen(function*() {
    const report = yield* node.upgradeApplication(ShopV2)
    return [report.started, report.stopped] // [["audit"], ["worker2"]]: the children it added and removed
  })
