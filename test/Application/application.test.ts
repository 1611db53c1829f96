import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Option, Scope } from "effect"
import { Application, Node, Process, Supervisor } from "../../src/index.js"
import * as Testing from "../testing.js"
import { eventually, within } from "../Process/helpers.js"
import { Broken, Worker } from "../Supervisor/helpers.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"

const appOf = (name: string, probe: Process.Pid, extra: Partial<Application.Spec> = {}): Application.Spec =>
  Application.make({
    name,
    version: "1.0.0",
    description: `${name} app`,
    root: [{ id: `${name}-worker`, behaviour: Worker, args: { id: name, probe } }],
    ...extra
  })

/** A root that gives up at the first crash of its worker (intensity 0): the application ends with shutdown. */
const fragile = (name: string, probe: Process.Pid, mode: Application.Mode) =>
  appOf(name, probe, {
    mode,
    root: Supervisor.oneForOne({ intensity: 0 }).pipe(
      Supervisor.child({ id: "w", behaviour: Worker, args: { id: name, probe } })
    )
  })

const workerOf = (env: Testing.TestEnv, root: Process.Pid) =>
  Effect.map(Supervisor.whichChildren(env.node, root), (c) => c[0]!.pid!)

describe("applications", () => {
  it.scoped("start, which, env, stop, unload", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const app = appOf("shop", env.probe, { env: { currency: "EUR" } })
      const root = yield* Application.start(env.node, app)
      assert.strictEqual(yield* env.receive(), "started shop")
      const [info] = yield* Application.which(env.node)
      assert.strictEqual(info!.name, "shop")
      assert.strictEqual(info!.state, "running")
      assert.strictEqual(info!.version, "1.0.0")
      assert.strictEqual(info!.mode, "temporary")
      assert.deepStrictEqual(info!.root, root)
      assert.deepStrictEqual(yield* Application.getEnv(env.node, "shop", "currency"), Option.some("EUR"))
      assert.deepStrictEqual(yield* Application.getEnv(env.node, "shop", "missing"), Option.none())
      assert.strictEqual((yield* Effect.flip(Application.start(env.node, "shop")))._tag, "ApplicationAlreadyStarted")
      assert.strictEqual((yield* Effect.flip(Application.unload(env.node, "shop")))._tag, "ApplicationStillRunning")
      yield* Application.stop(env.node, "shop")
      assert.strictEqual((yield* Application.which(env.node))[0]!.state, "stopped")
      assert.strictEqual((yield* env.exitReason(root))._tag, "shutdown")
      yield* Application.unload(env.node, "shop")
      assert.deepStrictEqual(yield* Application.which(env.node), [])
      assert.strictEqual((yield* Effect.flip(Application.start(env.node, "shop")))._tag, "ApplicationNotLoaded")
    }))

  it.scoped("processes read their application's env through ctx", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Reader = Process.make({
        name: "Reader",
        init: (_: void, ctx) =>
          Effect.flatMap(Application.getEnv(ctx, "cfg", "greeting"), (greeting) => ctx.send(env.probe, Option.getOrNull(greeting)))
      })
      yield* Application.start(env.node, Application.make({
        name: "cfg",
        version: "0.1.0",
        root: [{ id: "reader", behaviour: Reader, args: undefined }],
        env: { greeting: "hello" }
      }))
      assert.strictEqual(yield* env.receive(), "hello")
    }))

  it.scoped("a dependency must be running; a failing root fails the start", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const error = yield* Effect.flip(Application.start(env.node, appOf("web", env.probe, { dependencies: ["db"] })))
      assert.strictEqual(error._tag, "DependencyNotRunning")
      assert.include(error.message, "db")
      const broken = yield* Effect.flip(Application.start(env.node, Application.make({
        name: "broken",
        version: "1",
        root: [{ id: "b", behaviour: Broken, args: undefined }]
      })))
      assert.strictEqual(broken._tag, "ApplicationStartFailed")
      assert.include(broken.message, "missing config")
    }))

  it.effect("Node.start starts applications in dependency order and stops them in reverse", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const Tracked = Process.make({
        name: "Tracked",
        init: (name: string) => Effect.sync(() => (events.push(`start ${name}`), name)),
        terminate: (_r, name) => Effect.sync(() => void events.push(`stop ${name}`))
      })
      const app = (name: string, dependencies: Array<string>) =>
        Application.make({ name, version: "1", root: [{ id: name, behaviour: Tracked, args: name }], dependencies })
      const scope = yield* Scope.make()
      const node = yield* Node.start("apps@localhost", {
        applications: [app("web", ["db", "cache"]), app("cache", ["db"]), app("db", [])]
      }).pipe(Scope.extend(scope))
      assert.deepStrictEqual(events, ["start db", "start cache", "start web"])
      assert.deepStrictEqual((yield* Application.which(node)).map((a) => a.state), ["running", "running", "running"])
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(events.slice(3), ["stop web", "stop cache", "stop db"])
    }))

  it.scoped("a dependency cycle or a missing dependency is refused", () =>
    Effect.gen(function*() {
      const app = (name: string, dependencies: Array<string>) =>
        Application.make({ name, version: "1", root: [], dependencies })
      const cycle = yield* Effect.flip(Node.start("cyc@localhost", { applications: [app("a", ["b"]), app("b", ["c"]), app("c", ["a"])] }))
      assert.strictEqual(cycle._tag, "DependencyCycle")
      assert.include(cycle.message, "a -> b -> c -> a")
      const missing = yield* Effect.flip(Node.start("mis@localhost", { applications: [app("a", ["ghost"])] }))
      assert.strictEqual(missing._tag, "MissingDependency")
      assert.include(missing.message, "ghost")
    }))

  for (const [mode, abnormalStopsNode, normalStopsNode] of [
    ["temporary", false, false],
    ["transient", true, false],
    ["permanent", true, true]
  ] as const) {
    it.scoped(`mode ${mode}: abnormal end ${abnormalStopsNode ? "stops" : "does not stop"} the node`, () =>
      Effect.gen(function*() {
        const env = yield* Testing.make()
        const root = yield* Application.start(env.node, fragile("app", env.probe, mode))
        yield* env.receive()
        yield* env.send(yield* workerOf(env, root), "crash")
        assert.strictEqual((yield* env.exitReason(root))._tag, "shutdown")
        if (abnormalStopsNode) {
          yield* within(env.node.wait, "the node to stop", 5)
          assert.isTrue(kernelOf(env.node).stopped)
        } else {
          yield* env.send(env.probe, "node alive")
          assert.strictEqual(yield* env.receive(), "node alive")
          assert.isFalse(kernelOf(env.node).stopped)
          assert.strictEqual((yield* Application.which(env.node))[0]!.state, "stopped")
        }
      }))

    it.scoped(`mode ${mode}: a normal end of the root ${normalStopsNode ? "stops" : "does not stop"} the node`, () =>
      Effect.gen(function*() {
        const env = yield* Testing.make()
        const root = yield* Application.start(env.node, fragile("app", env.probe, mode))
        yield* env.receive()
        // No public way makes a supervisor end with normal; end it so through the kernel.
        kernelOf(env.node).exitProcess(kernelOf(env.node).lookup(root)!, Process.ExitReason.normal)
        assert.strictEqual((yield* env.exitReason(root))._tag, "normal")
        if (normalStopsNode) {
          yield* within(env.node.wait, "the node to stop", 5)
        } else {
          yield* env.send(env.probe, "node alive")
          assert.strictEqual(yield* env.receive(), "node alive")
          assert.isFalse(kernelOf(env.node).stopped)
        }
      }))

    it.scoped(`mode ${mode}: an abnormal end is logged in the node's log, with reason and mode`, () =>
      Effect.gen(function*() {
        const env = yield* Testing.make()
        const root = yield* Application.start(env.node, fragile("app", env.probe, mode))
        yield* env.receive()
        yield* env.send(yield* workerOf(env, root), "crash")
        assert.strictEqual((yield* env.exitReason(root))._tag, "shutdown")
        const line = yield* eventually(
          Effect.map(env.logs, (logs) => logs.find((l) => l.message.startsWith("application app exited"))),
          "the application's end was not logged",
          1
        )
        assert.include(line.message, `shutdown (${mode})`)
        assert.strictEqual(line.level, abnormalStopsNode ? "ERROR" : "INFO")
      }))

    it.scoped(`mode ${mode}: an explicit stop never stops the node`, () =>
      Effect.gen(function*() {
        const env = yield* Testing.make()
        yield* Application.start(env.node, fragile("app", env.probe, mode))
        yield* env.receive()
        yield* Application.stop(env.node, "app")
        yield* env.send(env.probe, "node alive")
        assert.strictEqual(yield* env.receive(), "node alive")
        assert.isFalse(kernelOf(env.node).stopped)
      }))
  }

  it.scoped("a crash inside one application never touches another", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const a = yield* Application.start(env.node, fragile("a", env.probe, "temporary"))
      yield* env.receive()
      const b = yield* Application.start(env.node, appOf("b", env.probe))
      yield* env.receive()
      const bWorker = yield* workerOf(env, b)
      yield* env.send(yield* workerOf(env, a), "crash")
      yield* env.exitReason(a)
      assert.deepStrictEqual(yield* workerOf(env, b), bWorker)
      assert.strictEqual(yield* env.call(bWorker, "ping"), "pong")
      const states = Object.fromEntries((yield* Application.which(env.node)).map((i) => [i.name, i.state]))
      assert.deepStrictEqual(states, { a: "stopped", b: "running" })
    }))
})
