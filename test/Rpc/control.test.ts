import { RpcClient, RpcSerialization } from "@effect/rpc"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Schema, Scope } from "effect"
import * as net from "node:net"
import { Application, Node, Process, Supervisor } from "../../src/index.js"
import { Control } from "../../src/Rpc/index.js"
import * as Transport from "../../src/Transport/index.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"
import { Rates } from "../../src/Rpc/internal/controlServer.js"
import { hasOpenssl, makeCerts } from "../fixtures/certs.js"

const COOKIE = "control-secret"

class Bump extends Schema.TaggedClass<Bump>()("test/Control/Bump", { by: Schema.Number }) {}
class Get extends Schema.TaggedRequest<Get>()("test/Control/Get", { failure: Schema.Never, success: Schema.Number, payload: {} }) {}

/** A counter whose state is a number; plain messages `{ by }` bump it too (for Send). */
const Counter = Process.make({
  name: "Counter",
  init: (start: number) => Effect.succeed(start),
  handleMessage: (msg: Bump | { readonly by: number }, n: number) => Effect.succeed(n + msg.by),
  handleCall: (_: Get, _from, n: number) => Effect.succeed(Process.reply(n, n)),
  describe: (n: number) => `count ${n}`
})

/** Holds every message it gets until told to "go" (so its mailbox fills). */
const Sleeper = Process.make({
  name: "Sleeper",
  init: () => Effect.succeed(0),
  handleMessage: (_: unknown, n: number) => Effect.as(Effect.sleep("1 hour"), n + 1)
})

const Worker = Process.make({
  name: "Worker",
  init: (blob: string) => Effect.succeed({ blob }),
  handleMessage: (_: string, s: { blob: string }) => Effect.fail("crash on request").pipe(Effect.as(s))
})

const DemoApp = Application.make({
  name: "demo",
  version: "1.2.3",
  description: "a demo",
  root: Supervisor.oneForOne({ intensity: 10, period: "1 minute" }).pipe(
    Supervisor.child({ id: "worker", behaviour: Worker, args: "x".repeat(10) }),
    Supervisor.child({
      id: "inner",
      type: "supervisor",
      behaviour: Supervisor.behaviour(
        Supervisor.oneForOne().pipe(Supervisor.child({ id: "leaf", behaviour: Worker, args: "leaf" }))
      ),
      args: undefined
    })
  )
})

const startNode = (name = "ctl@127.0.0.1", cookie = COOKIE) =>
  Node.start(name, {
    log: { crashReports: false },
    network: { cookie, port: 0, allowSpawn: [Counter], allowApplications: [DemoApp], messages: [Bump, Get] }
  })

const connect = (node: Node.NodeService, cookie = COOKIE) =>
  Control.client({ host: "127.0.0.1", port: node.port, cookie })

describe("Control plane", () => {
  it.live("ping and info over TCP, on the node's own listener", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode()
      const client = yield* connect(node)
      assert.strictEqual(client.node, "ctl@127.0.0.1")
      const pong = yield* client.Ping()
      assert.strictEqual(pong.node, "ctl@127.0.0.1")
      assert.strictEqual(pong.creation, node.creation)
      const other = yield* Node.start("peer@127.0.0.1", {
        network: { cookie: COOKIE, port: 0, routes: { "ctl@127.0.0.1": node.address } }
      })
      yield* other.connect("ctl@127.0.0.1")
      const info = yield* client.Info()
      assert.strictEqual(info.node, "ctl@127.0.0.1")
      assert.strictEqual(info.address, node.address)
      assert.strictEqual(info.processCount, (yield* node.metrics).processCount)
      assert.deepStrictEqual(info.connections.map((c) => [c.node, c.dialled]), [["peer@127.0.0.1", "the peer"]])
      assert.deepStrictEqual(info.spawnable, ["Counter"])
      assert.isAbove(info.memoryUsage, 0)
    })))

  it.live("a node still talks to its peers on the same port", () =>
    Effect.scoped(Effect.gen(function*() {
      const a = yield* startNode()
      const b = yield* Node.start("b@127.0.0.1", {
        network: { cookie: COOKIE, port: 0, routes: { "ctl@127.0.0.1": a.address }, messages: [Bump, Get] }
      })
      const counter = yield* a.spawn(Counter, 1, { name: "counter" })
      yield* b.send(Process.name("counter", "ctl@127.0.0.1"), new Bump({ by: 2 }))
      assert.strictEqual(yield* b.call(counter, new Get()), 3)
      const client = yield* connect(a)
      const info = yield* client.Info()
      assert.deepStrictEqual(info.connections.map((c) => c.node), ["b@127.0.0.1"])
    })))

  it.live("a wrong cookie is refused with a clear error", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode()
      const refused = yield* Effect.flip(connect(node, "not-the-cookie"))
      assert.strictEqual(refused._tag, "rain/Rpc/ControlConnectFailed")
      assert.strictEqual(refused.reason, "cookie")
      assert.match(refused.message, /refused the cookie.*--cookie or RAIN_COOKIE/)
      // The node keeps serving the right cookie.
      const client = yield* connect(node)
      assert.strictEqual((yield* client.Ping()).node, node.name)
    })))

  it.live("client options from plain JS (no cookie, a bad timeout, none) fail with ControlConnectFailed, no handshake", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode()
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ host: "127.0.0.1", port: node.port }, "no cookie: pass cookie"],
        [{ host: "127.0.0.1", port: node.port, cookie: null }, "no cookie: pass cookie"],
        [{ host: "127.0.0.1", port: node.port, cookie: COOKIE, timeout: "soon" }, `timeout is "soon": give a duration`],
        [null, "they are null: pass { host, port, cookie }"]
      ]
      for (const [options, expected] of cases) {
        const error = yield* Effect.flip(Control.client(options as Control.ClientOptions))
        assert.strictEqual(error._tag, "rain/Rpc/ControlConnectFailed")
        assert.strictEqual(error.reason, "options")
        assert.include(error.message, expected)
      }
      const client = yield* connect(node)
      assert.strictEqual((yield* client.Ping()).node, node.name)
    })))

  it.live("a plain RpcClient on the protocol layer, and the unreachable and wrong-name cases", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode()
      const protocol = yield* Layer.build(
        Control.layerProtocol({ host: "127.0.0.1", port: node.port, cookie: COOKIE, node: node.name })
      )
      const plain = yield* RpcClient.make(Control.Rpcs).pipe(Effect.provide(protocol))
      assert.strictEqual((yield* plain.Ping()).node, node.name)
      const viaLayer = yield* Effect.flatMap(Control.ControlClient, (c) => c.Info()).pipe(
        Effect.provide(Control.layer({ host: "127.0.0.1", port: node.port, cookie: COOKIE }))
      )
      assert.strictEqual(viaLayer.node, node.name)
      const wrongName = yield* Effect.flip(
        Control.client({ host: "127.0.0.1", port: node.port, cookie: COOKIE, node: "other@127.0.0.1" })
      )
      assert.strictEqual(wrongName.reason, "name")
      // A port nobody listens on: take one and close it.
      const free = yield* Effect.promise(() =>
        new Promise<number>((resolve) => {
          const s = net.createServer().listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port
            s.close(() => resolve(port))
          })
        })
      )
      const unreachable = yield* Effect.flip(Control.client({ host: "127.0.0.1", port: free, cookie: COOKIE }))
      assert.strictEqual(unreachable.reason, "unreachable")
      assert.match(unreachable.message, /Cannot reach a node at 127\.0\.0\.1:\d+/)
    })))

  it.live("garbage on the listener is closed; the node keeps serving", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode()
      const closed = yield* Effect.promise(() =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(node.port, "127.0.0.1", () => s.write("RAINxxxxGET / HTTP/1.1\r\n\r\n"))
          s.on("close", () => resolve(true))
          s.on("error", () => {})
          setTimeout(() => resolve(false), 5000).unref()
        })
      )
      assert.isTrue(closed)
      // A raw rpc client skipping the handshake (preamble, then rpc bytes) gets nothing and is closed.
      const raw = yield* Effect.promise(() =>
        new Promise<boolean>((resolve) => {
          const s = net.connect(node.port, "127.0.0.1", () => {
            s.write(Buffer.concat([Buffer.from("RAINCTL1"), Buffer.from(RpcSerialization.msgPack.unsafeMake().encode({
              _tag: "Request",
              id: "1",
              tag: "Ping",
              payload: {},
              headers: []
            }) as Uint8Array)]))
          })
          let answered = false
          s.on("data", (d) => {
            // The only thing an unauthenticated client may see is the node's handshake frames, never a response.
            if (d.includes(Buffer.from("requestId"))) answered = true
          })
          s.on("close", () => resolve(!answered))
          s.on("error", () => {})
          setTimeout(() => {
            s.destroy()
            resolve(!answered)
          }, 8000).unref()
        })
      )
      assert.isTrue(raw)
      const client = yield* connect(node)
      assert.strictEqual((yield* client.Ping()).node, node.name)
    })), 20_000)

  it.live("process listing: sort, filter and paging over 10k processes", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode()
      const base = (yield* node.processes).length
      for (let i = 0; i < 10_000; i++) yield* node.spawn(Counter, i)
      const busy = yield* node.spawn(Sleeper, undefined, { name: "busy-one" })
      for (let i = 0; i < 7; i++) yield* node.send(busy, i)
      const client = yield* connect(node)
      const first = yield* client.Processes({ limit: 100 })
      assert.strictEqual(first.total, base + 10_001)
      assert.strictEqual(first.matched, base + 10_001)
      assert.strictEqual(first.processes.length, 100)
      // Every page, oldest first, covers every process exactly once.
      const seen = new Set<string>()
      for (let offset = 0; offset < first.total; offset += 1000) {
        const page = yield* client.Processes({ offset, limit: 1000 })
        for (const p of page.processes) seen.add(p.pid)
        const ids = page.processes.map((p) => p.id)
        assert.deepStrictEqual(ids, ids.slice().sort((a, b) => a - b))
      }
      assert.strictEqual(seen.size, first.total)
      const byMailbox = yield* client.Processes({ sort: "mailbox", limit: 3 })
      assert.strictEqual(byMailbox.processes[0]!.name, "busy-one")
      assert.strictEqual(byMailbox.processes[0]!.mailbox, 6) // one is being handled
      const counters = yield* client.Processes({ behaviour: "count", limit: 5, offset: 9_998 })
      assert.strictEqual(counters.matched, 10_000)
      assert.strictEqual(counters.processes.length, 2)
      const named = yield* client.Processes({ name: "BUSY" })
      assert.deepStrictEqual(named.processes.map((p) => p.name), ["busy-one"])
      // Handled messages: bump one counter, it comes first.
      const some = first.processes.find((p) => p.behaviour === "Counter")!
      yield* client.Send({ process: some.pid, message: { by: 5 } })
      yield* client.Send({ process: some.pid, message: { by: 5 } })
      const byMessages = yield* client.Processes({ sort: "messages", limit: 1, behaviour: "Counter" })
      assert.strictEqual(byMessages.processes[0]!.pid, some.pid)
      // Memory: a process with a large state comes first.
      const big = yield* node.spawn(Counter, 0)
      yield* node.send(big, { by: 0 })
      const fat = yield* node.spawn(Worker, "y".repeat(100_000))
      const byMemory = yield* client.Processes({ sort: "memory", limit: 1 })
      assert.strictEqual(byMemory.processes[0]!.pid, fat.toString())
      assert.isAbove(byMemory.processes[0]!.memory, 100_000)
      // Bad paging arguments are refused by the schema (the client's encoding already).
      const bad = yield* Effect.exit(client.Processes({ limit: 5000 }))
      assert.isTrue(Exit.isFailure(bad))
    })), 60_000)

  it.live("process listing by messages/s and by status, computed on the node", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode()
      const a = yield* node.spawn(Counter, 0)
      const b = yield* node.spawn(Counter, 0)
      const c = yield* node.spawn(Counter, 0)
      const client = yield* connect(node)
      const ids = [a, b, c].map((p) => p.toString())
      // First listing: no sample yet, so no rate; no rate sorts last, then by pid.
      const first = yield* client.Processes({ sort: "rate", behaviour: "Counter" })
      assert.deepStrictEqual(first.processes.map((p) => [p.pid, p.rate]), ids.map((pid) => [pid, null]))
      // b handles 30 messages, a 10, c none (the call waits until they are handled, and counts as one).
      for (let i = 0; i < 30; i++) yield* node.send(b, new Bump({ by: 1 }))
      for (let i = 0; i < 10; i++) yield* node.send(a, new Bump({ by: 1 }))
      assert.strictEqual(yield* node.call(b, new Get()), 30)
      assert.strictEqual(yield* node.call(a, new Get()), 10)
      yield* Effect.sleep("300 millis") // samples closer than 200 ms give no new rate
      const byRate = yield* client.Processes({ sort: "rate", behaviour: "Counter" })
      assert.deepStrictEqual(byRate.processes.map((p) => p.pid), [b, a, c].map((p) => p.toString()))
      const [rb, ra, rc] = byRate.processes.map((p) => p.rate!)
      assert.isAbove(rb!, ra!)
      assert.isAbove(ra!, 0)
      assert.strictEqual(rc, 0)
      // The figures agree with the counts over the interval: b handled 31, a 11, in at least 300 ms.
      assert.isAtMost(rb!, 31 / 0.3 + 1e-9)
      assert.closeTo(rb! / ra!, 31 / 11, 1e-9)
      // Asked again at once, the node keeps its samples (they are too young): the same figures.
      const again = yield* client.Processes({ sort: "rate", behaviour: "Counter" })
      assert.deepStrictEqual(again.processes.map((p) => p.rate), byRate.processes.map((p) => p.rate))
      // Quiet since: every rate falls to 0, and pid order breaks the tie.
      yield* Effect.sleep("300 millis")
      const quiet = yield* client.Processes({ sort: "rate", behaviour: "Counter" })
      assert.deepStrictEqual(quiet.processes.map((p) => [p.pid, p.rate]), ids.map((pid) => [pid, 0]))
      // Other sorts carry the rate column too, and the process view shows it.
      const byPid = yield* client.Processes({ behaviour: "Counter" })
      assert.deepStrictEqual(byPid.processes.map((p) => p.rate), [0, 0, 0])
      assert.strictEqual((yield* client.Process({ process: a.toString() })).row.rate, 0)

      // Status: furthest along first (suspended, waiting in a handler, ..., idle), then pid.
      const sleeper = yield* node.spawn(Sleeper, undefined, { name: "sleeper" })
      yield* node.send(sleeper, "zzz")
      const paused = yield* node.spawn(Counter, 0, { name: "paused" })
      yield* Process.suspend(paused)
      for (let i = 0; i < 100 && Option.isNone(yield* Effect.map(node.info(sleeper), Option.filter((i) => i.status === "waiting"))); i++) {
        yield* Effect.sleep("10 millis")
      }
      const byStatus = yield* client.Processes({ sort: "status", limit: 1000 })
      const order = ["init", "idle", "scheduled", "running", "waiting", "suspended", "exiting", "dead"]
      const ranks = byStatus.processes.map((p) => order.indexOf(p.status))
      assert.deepStrictEqual(ranks, ranks.slice().sort((x, y) => y - x))
      assert.deepStrictEqual(byStatus.processes.slice(0, 2).map((p) => [p.name, p.status]), [
        ["paused", "suspended"],
        ["sleeper", "waiting"]
      ])
      const idle = byStatus.processes.filter((p) => p.status === "idle").map((p) => p.id)
      assert.deepStrictEqual(idle, idle.slice().sort((x, y) => x - y))
      assert.includeMembers(byStatus.processes.filter((p) => p.status === "idle").map((p) => p.pid), ids)
      // A dead process's sample goes with it: the node lists only live ones, and a bad sort is refused.
      yield* node.exit(a, Process.ExitReason.kill)
      yield* node.awaitExit(a)
      const afterExit = yield* client.Processes({ sort: "rate", behaviour: "Counter" })
      assert.notInclude(afterExit.processes.map((p) => p.pid), a.toString())
      const badSort = yield* Effect.exit(client.Processes({ sort: "colour" as "pid" }))
      assert.isTrue(Exit.isFailure(badSort))
    })), 30_000)

  it.live("the rate samples: one per process listed, kept while young, pruned of dead processes", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode()
      const kernel = kernelOf(node)
      const rates = new Rates(kernel)
      const a = kernel.lookup(yield* node.spawn(Counter, 0))!
      const b = kernel.lookup(yield* node.spawn(Counter, 0))!
      assert.isNull(rates.take(a, 1_000))
      assert.isNull(rates.take(b, 1_000))
      assert.strictEqual(rates.size, 2)
      for (let i = 0; i < 5; i++) yield* node.send(a.pid, new Bump({ by: 1 }))
      assert.strictEqual(yield* node.call(a.pid, new Get()), 5)
      // 6 handled in 2 s: 3/s; within 200 ms of that sample, the same figure (no new sample).
      assert.strictEqual(rates.peek(a, 3_000), 3)
      assert.strictEqual(rates.take(a, 3_000), 3)
      assert.strictEqual(rates.take(a, 3_100), 3)
      assert.strictEqual(rates.take(a, 4_000), 0)
      assert.strictEqual(rates.take(b, 4_000), 0)
      yield* node.exit(a.pid, Process.ExitReason.kill)
      yield* node.awaitExit(a.pid)
      rates.prune()
      assert.strictEqual(rates.size, 1)
      assert.isNull(rates.peek(a, 5_000))
    })))

  it.live("message trace over the control plane: Trace on, the last N in Process, off, a dead process", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode()
      const counter = yield* node.spawn(Counter, 0, { name: "counter" })
      const client = yield* connect(node)
      assert.isUndefined((yield* client.Process({ process: "counter" })).trace)
      yield* client.Trace({ process: "counter", last: 3 })
      for (let i = 1; i <= 4; i++) yield* node.send(counter, { by: i })
      assert.strictEqual(yield* node.call(counter, new Get()), 10)
      const traced = yield* client.Process({ process: "counter" })
      assert.strictEqual(traced.trace!.last, 3)
      assert.deepStrictEqual(traced.trace!.entries.map((e) => [e.kind, e.message]), [
        ["message", "{ by: 3 }"],
        ["message", "{ by: 4 }"],
        ["call", "Get { _tag: 'test/Control/Get' }"]
      ])
      const ats = traced.trace!.entries.map((e) => e.at)
      assert.deepStrictEqual(ats, ats.slice().sort((x, y) => x - y))
      // The same trace as the node's own API sees it.
      assert.deepStrictEqual(yield* Process.traced(counter), traced.trace!.entries)
      yield* client.Trace({ process: counter.toString(), last: 0 })
      assert.isUndefined((yield* client.Process({ process: "counter" })).trace)
      assert.isUndefined(yield* Process.traced(counter))
      const tooMany = yield* Effect.exit(client.Trace({ process: "counter", last: 10_001 }))
      assert.isTrue(Exit.isFailure(tooMany))
      yield* node.exit(counter, Process.ExitReason.kill)
      yield* node.awaitExit(counter)
      const gone = yield* Effect.flip(client.Trace({ process: counter.toString(), last: 5 }))
      assert.strictEqual(gone._tag, "rain/Rpc/ProcessNotFound")
    })))

  it.live("one process: state capped, links, monitors, parent; not found", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode()
      const counter = yield* node.spawn(Counter, 41, { name: "counter" })
      const fat = yield* node.spawn(Worker, "z".repeat(50_000))
      const client = yield* connect(node)
      const detail = yield* client.Process({ process: "counter" })
      assert.strictEqual(detail.row.pid, counter.toString())
      assert.strictEqual(detail.state, "41")
      assert.strictEqual(detail.detail, "'count 41'")
      assert.isFalse(detail.trapExit)
      const byId = yield* client.Process({ process: String(counter.id) })
      assert.strictEqual(byId.row.name, "counter")
      const capped = yield* client.Process({ process: fat.toString(), stateLimit: 100 })
      assert.strictEqual(capped.state.length, 100)
      assert.isTrue(capped.stateTruncated)
      const missing = yield* Effect.flip(client.Process({ process: "nobody" }))
      assert.strictEqual(missing._tag, "rain/Rpc/ProcessNotFound")
      assert.match(missing.message, /No process nobody on ctl@127\.0\.0\.1/)
      const stale = yield* Effect.flip(client.Process({ process: `<ctl@127.0.0.1.${counter.id}.1>` }))
      assert.strictEqual(stale._tag, "rain/Rpc/ProcessNotFound")
      // Links, monitors and the parent of a supervised child.
      yield* Application.start(node, DemoApp)
      const tree = yield* client.Tree()
      const demo = tree.find((a) => a.name === "demo")!
      const worker = demo.tree.find((n) => n.id === "worker")!
      const root = demo.tree[0]!
      const w = yield* client.Process({ process: worker.pid! })
      assert.strictEqual(w.parent, root.pid)
      assert.include(w.links, root.pid!)
      const rootDetail = yield* client.Process({ process: root.pid! })
      assert.isTrue(rootDetail.trapExit)
      assert.include(rootDetail.links, worker.pid!)
    })))

  it.live("applications: tree with restart counts, which, start and stop", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode()
      const client = yield* connect(node)
      assert.deepStrictEqual(yield* client.WhichApplications(), [])
      const notThere = yield* Effect.flip(client.StartApplication({ name: "nope" }))
      assert.match(notThere.message, /neither loaded on the node nor in its network\.allowApplications/)
      const rootPid = yield* client.StartApplication({ name: "demo" })
      assert.match(rootPid, /^<ctl@127\.0\.0\.1\.\d+\.\d+>$/)
      const again = yield* Effect.flip(client.StartApplication({ name: "demo" }))
      assert.strictEqual(again._tag, "rain/Rpc/OperationFailed")
      let tree = (yield* client.Tree()).find((a) => a.name === "demo")!
      assert.strictEqual(tree.state, "running")
      assert.strictEqual(tree.version, "1.2.3")
      assert.deepStrictEqual(tree.tree.map((n) => [n.depth, n.id, n.type]), [
        [0, "root", "supervisor"],
        [1, "worker", "worker"],
        [1, "inner", "supervisor"],
        [2, "leaf", "worker"]
      ])
      assert.strictEqual(tree.tree[0]!.pid, rootPid)
      assert.strictEqual(tree.tree[0]!.strategy, "one_for_one")
      // Crash the worker twice (a message makes it fail); its supervisor restarts it.
      for (let i = 1; i <= 2; i++) {
        const worker = tree.tree.find((n) => n.id === "worker")!
        yield* client.Send({ process: worker.pid!, message: "crash" })
        const old = parsePid(worker.pid!)
        yield* node.awaitExit(new Process.Pid(old))
        for (let tries = 0; tries < 100; tries++) {
          tree = (yield* client.Tree()).find((a) => a.name === "demo")!
          const now = tree.tree.find((n) => n.id === "worker")!
          if (now.pid !== undefined && now.pid !== worker.pid) break
          yield* Effect.sleep("20 millis")
        }
        assert.strictEqual(tree.tree.find((n) => n.id === "worker")!.restarts, i)
      }
      assert.strictEqual(tree.tree[0]!.restarts, 2)
      assert.strictEqual(tree.tree.find((n) => n.id === "leaf")!.restarts, 0)
      yield* client.StopApplication({ name: "demo" })
      const which = yield* client.WhichApplications()
      assert.deepStrictEqual(which.map((a) => [a.name, a.state]), [["demo", "stopped"]])
      const stopUnknown = yield* Effect.flip(client.StopApplication({ name: "nope" }))
      assert.strictEqual(stopUnknown._tag, "rain/Rpc/OperationFailed")
    })))

  it.live("spawn by behaviour name, exit a process, send a test message", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode()
      const client = yield* connect(node)
      const pidText = yield* client.Spawn({ behaviour: "Counter", args: 10, name: "remote-counter" })
      const pid = Option.getOrThrow(yield* node.whereis("remote-counter"))
      assert.strictEqual(pidText, pid.toString())
      yield* client.Send({ process: "remote-counter", message: { by: 5 } })
      assert.strictEqual(yield* node.call(pid as Process.Ref<never, Get>, new Get()), 15)
      const refused = yield* Effect.flip(client.Spawn({ behaviour: "Worker", args: "x" }))
      assert.match(refused.message, /not in the node's network\.allowSpawn list \(Counter\)/)
      const taken = yield* Effect.flip(client.Spawn({ behaviour: "Counter", args: 1, name: "remote-counter" }))
      assert.strictEqual(taken._tag, "rain/Rpc/OperationFailed")
      const watcher = yield* Effect.fork(node.awaitExit(pid))
      yield* Effect.yieldNow()
      yield* client.Exit({ process: "remote-counter" })
      // Exit with "kill" answers once the process is gone.
      assert.isTrue(Option.isNone(yield* node.info(pid)))
      assert.strictEqual((yield* watcher.await.pipe(Effect.flatten))._tag, "killed")
      const gone = yield* Effect.flip(client.Exit({ process: pid.toString() }))
      assert.strictEqual(gone._tag, "rain/Rpc/ProcessNotFound")
      const noSuch = yield* Effect.flip(client.Send({ process: "nobody", message: 1 }))
      assert.strictEqual(noSuch._tag, "rain/Rpc/ProcessNotFound")
      // An error reason given as text.
      const other = yield* node.spawn(Counter, 0)
      const otherWatcher = yield* Effect.fork(node.awaitExit(other))
      yield* Effect.yieldNow()
      yield* client.Exit({ process: other.toString(), reason: "operator says so" })
      const why = yield* otherWatcher.await.pipe(Effect.flatten)
      assert.strictEqual(why._tag, "error")
      assert.include(Process.ExitReason.format(why), "operator says so")
    })))

  it.live("the control plane closes with the node's scope", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const node = yield* startNode().pipe(Scope.extend(scope))
      const outer = yield* Scope.make()
      const client = yield* connect(node).pipe(Scope.extend(outer))
      yield* client.Ping()
      yield* Scope.close(scope, Exit.void)
      const after = yield* Effect.exit(Effect.timeout(client.Ping(), "5 seconds"))
      assert.isTrue(Exit.isFailure(after))
      yield* Scope.close(outer, Exit.void)
      const again = yield* Effect.flip(Effect.scoped(connect(node)))
      assert.strictEqual(again.reason, "unreachable")
    }))

  it.live.skipIf(!hasOpenssl)("over TLS: the control plane rides the node's TLS listener", () =>
    Effect.scoped(Effect.gen(function*() {
      const certs = makeCerts()
      const tls = { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requireClientCert: true }
      const node = yield* Node.start("secure@127.0.0.1", { network: { cookie: COOKIE, port: 0, tls } })
      const transport = Transport.tls({ ...tls, cert: certs.clientCert, key: certs.clientKey })
      const client = yield* Control.client({ host: "127.0.0.1", port: node.port, cookie: COOKIE, transport })
      assert.strictEqual((yield* client.Ping()).node, "secure@127.0.0.1")
      // Plain TCP to a TLS listener is not a control connection.
      const plain = yield* Effect.flip(Control.client({ host: "127.0.0.1", port: node.port, cookie: COOKIE, timeout: "3 seconds" }))
      assert.oneOf(plain.reason, ["refused", "unreachable"])
    })), 30_000)

  it.live("a describe that throws is reported in the detail; the node goes on", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode()
      const Odd = Process.make({
        name: "Odd",
        init: () => Effect.succeed(0),
        describe: () => {
          throw new Error("cannot describe myself")
        }
      })
      const odd = yield* node.spawn(Odd, undefined)
      const client = yield* connect(node)
      const detail = yield* client.Process({ process: odd.toString() })
      assert.strictEqual(detail.detail, "<describe failed: cannot describe myself>")
      assert.strictEqual((yield* client.Ping()).node, node.name)
    })))

  it.live("a node without network has no listener; a TLS-less transport still serves control", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* Node.start("alone@localhost")
      assert.strictEqual(node.port, 0)
      const tcp = Transport.tcp({ host: "127.0.0.1" })
      const other = yield* Node.start("t@127.0.0.1", { network: { cookie: COOKIE, transport: tcp } })
      const client = yield* Control.client({ host: "127.0.0.1", port: other.port, cookie: COOKIE, transport: tcp })
      assert.strictEqual((yield* client.Ping()).node, "t@127.0.0.1")
    })))
})

const parsePid = (text: string) => {
  const m = /^<(.+)\.(\d+)\.(\d+)>$/.exec(text)!
  return { node: m[1]!, id: Number(m[2]), creation: Number(m[3]) }
}
