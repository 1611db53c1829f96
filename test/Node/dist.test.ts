import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Either, Exit, Fiber, Option, Scope } from "effect"
import { Application, Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import { hasOpenssl, makeCerts } from "../fixtures/certs.js"
import { within } from "../Process/helpers.js"
import { Black, Blob, cluster, Counter, GetCount, Hang, Increment, InOrder, Relay, Secret } from "../fixtures/dist.js"
import type { Distribution } from "../../src/Node/internal/dist/connection.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"
import { monitor } from "../../src/Node/internal/signals.js"
import { EXITING, pidKey } from "../../src/Node/internal/proc.js"

/** Crashes right after init (allowed for remote spawn on b in one test). */
const Crasher = Process.make({
  name: "Crasher",
  init: (_: undefined, ctx) => Effect.as(ctx.send(ctx.self, "crash"), undefined),
  handleMessage: (_msg: string) => Effect.fail("crashed at once")
})

/** Its init fails. */
const Refuser = Process.make({ name: "Refuser", init: () => Effect.fail("no, thanks") })

/** Spawns a Crasher on b, linked or monitored as told; forwards pids, failures and infos to `to`. */
const Spawner = Process.make({
  name: "Spawner",
  init: (to: Process.Pid) => Effect.succeed(to),
  handleMessage: (how: "link" | "monitor" | "refused", to, ctx) =>
    (how === "link"
      ? ctx.spawnRemoteLink("b@127.0.0.1", "Crasher", undefined)
      : how === "monitor"
      ? Effect.map(ctx.spawnRemoteMonitor("b@127.0.0.1", "Crasher", undefined), ([pid]) => pid)
      : ctx.spawnRemote("b@127.0.0.1", "Relay", undefined)).pipe(
        Effect.flatMap((pid) => ctx.send(to, pid)),
        Effect.catchAll((e) => ctx.send(to, e._tag)),
        Effect.as(to)
      ),
  handleInfo: (info, to, ctx) => Effect.as(ctx.send(to, info), to)
})

/** Forwards each message to `to`; "hold" makes it wait for `gate` first, so that its mailbox fills meanwhile. */
const Gate = Process.make({
  name: "Gate",
  init: (args: { readonly to: Process.Pid; readonly gate: Deferred.Deferred<void> }) => Effect.succeed(args),
  handleMessage: (msg: unknown, args, ctx) =>
    msg === "hold"
      ? ctx.send(args.to, "holding").pipe(Effect.zipRight(Deferred.await(args.gate)), Effect.as(args))
      : Effect.as(ctx.send(args.to, msg), args)
})

const isDown = (u: unknown): u is Process.Down => u instanceof Process.Down
const isExit = (u: unknown): u is Process.Exit => u instanceof Process.Exit
const isNodeDown = (u: unknown): u is Process.NodeDown => u instanceof Process.NodeDown

/**
 * An acknowledgement instead of a sleep: each relay (forwarding to `from`'s probe) has handled
 * what it was sent so far (its "ack" comes back), and a call round trip to `server` on the peer
 * proves the peer read every frame sent before it (frames on one connection arrive in order), so
 * links and monitors set up from `from` are in place there.
 */
const settled = (from: Testing.TestEnv, relays: ReadonlyArray<Process.Pid>, server: Process.Ref<Increment, GetCount>) =>
  Effect.gen(function*() {
    for (const relay of relays) {
      yield* from.send(relay, "ack")
      assert.strictEqual(yield* from.receive("5 seconds"), "ack")
    }
    yield* from.call(server, new GetCount(), "5 seconds")
  })

describe("distribution", () => {
  it.scopedLive("send to a remote pid and name, call, nodes()", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const relay = yield* b.spawn(Relay, b.probe, { name: "relay" })
      yield* a.send(relay, "hello")
      assert.strictEqual(yield* b.receive("2 seconds"), "hello")
      yield* a.send(Process.name("relay", "b@127.0.0.1"), { n: 1, list: [1, "x"] })
      assert.deepStrictEqual(yield* b.receive("2 seconds"), { n: 1, list: [1, "x"] })
      assert.deepStrictEqual(yield* a.node.nodes, ["b@127.0.0.1"])
      assert.deepStrictEqual(yield* b.node.nodes, ["a@127.0.0.1"])
      const counter = yield* b.spawn(Counter, 5)
      yield* a.send(counter, new Increment({ by: 2 }))
      assert.strictEqual(yield* a.call(counter, new GetCount()), 7)
      // a call to a dead remote process fails with ProcessUnknown
      yield* b.send(relay, "stop")
      yield* b.exitReason(relay)
      const error = yield* Effect.flip(a.call(relay as any, new GetCount(), "2 seconds"))
      assert.strictEqual(error._tag, "ProcessUnknown")
    }))

  it.scopedLive("a message sent in the log lane to a remote process arrives in its log lane", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const gate = yield* Deferred.make<void>()
      const target = yield* b.spawn(Gate, { to: b.probe, gate })
      yield* b.send(target, "hold")
      assert.strictEqual(yield* b.receive("2 seconds"), "holding")
      yield* a.node.send(target, "in the log lane", "log")
      yield* a.node.send(target, "in the main lane", "normal")
      const mailbox = yield* b.node.info(target).pipe(
        Effect.map((info) => Option.getOrThrow(info).mailbox),
        Effect.delay("10 millis"),
        Effect.repeat({ until: (m) => m.main + m.log + m.urgent >= 2 }),
        Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => new Error("the two messages did not arrive within 2 s") })
      )
      assert.deepStrictEqual(mailbox, { urgent: 0, system: 0, main: 1, log: 1 })
      // The log lane is taken last: the main-lane message, sent second, is handled first.
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(yield* b.receive("2 seconds"), "in the main lane")
      assert.strictEqual(yield* b.receive("2 seconds"), "in the log lane")
    }))

  it.scopedLive("remote link, monitor and node monitor fire with noconnection when the peer stops", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const scope = yield* Scope.make()
      const b = yield* make("b@127.0.0.1").pipe(Scope.extend(scope))
      const target = yield* b.spawn(Relay, undefined)
      const counter = yield* b.spawn(Counter, 0)
      const linked = yield* a.spawn(Relay, a.probe, { trapExit: true } as any)
      // connected first: monitorNode to a node not (yet) connected gives NodeDown "not connected" at once
      yield* a.node.connect("b@127.0.0.1")
      yield* a.send(linked, { link: target })
      yield* a.monitor(target)
      yield* a.send(linked, { monitorNode: "b@127.0.0.1" })
      yield* settled(a, [linked], counter)
      assert.deepStrictEqual(Option.getOrThrow(yield* b.node.info(target)).links, [linked], "the link reached b")
      yield* Effect.promise(() => Effect.runPromise(Scope.close(scope, Exit.void)))
      const down = yield* a.receiveMatching(isDown, "5 seconds")
      assert.deepStrictEqual(down.target, target)
      assert.strictEqual(down.reason._tag, "noconnection")
      const exit = yield* a.receiveMatching(isExit, "5 seconds")
      assert.deepStrictEqual(exit.from, target)
      assert.strictEqual(exit.reason._tag, "noconnection")
      const nodeDown = yield* a.receiveMatching(isNodeDown, "5 seconds")
      assert.strictEqual(nodeDown.node, "b@127.0.0.1")
      assert.notStrictEqual(nodeDown.reason, "not connected")
    }))

  it.scopedLive("remote monitor: Down with the real reason; monitor of a dead pid gives noproc", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const target = yield* b.spawn(Relay, undefined, { name: "target" })
      yield* a.monitor(target)
      const byName = yield* a.spawn(Relay, a.probe)
      const nameRef = yield* Effect.sync(() => monitor(kernelOf(a.node), kernelOf(a.node).lookup(byName)!, Process.name("target", "b@127.0.0.1")))
      yield* settled(a, [], yield* b.spawn(Counter, 0))
      assert.strictEqual(Option.getOrThrow(yield* b.node.info(target)).monitoredBy, 2, "both monitors reached b")
      yield* b.send(target, "crash")
      const down = yield* a.receiveMatching((u): u is Process.Down => isDown(u) && u.ref !== nameRef && Process.isPid(u.target), "2 seconds")
      assert.strictEqual(down.reason._tag, "error")
      const downName = yield* a.receiveMatching((u): u is Process.Down => isDown(u) && Process.isName(u.target), "2 seconds")
      assert.strictEqual(downName.reason._tag, "error")
      assert.strictEqual((downName.target as Process.Name).name, "target")
      yield* a.monitor(target)
      const again = yield* a.receiveMatching(isDown, "2 seconds")
      assert.strictEqual(again.reason._tag, "noproc")
      // link to a dead remote pid: exit signal noproc
      const linked = yield* a.spawn(Relay, a.probe, { trapExit: true } as any)
      yield* a.send(linked, { link: target })
      const exit = yield* a.receiveMatching(isExit, "2 seconds")
      assert.strictEqual(exit.reason._tag, "noproc")
    }))

  it.scopedLive("simultaneous connect ends with one connection and loses nothing", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      for (let round = 0; round < 5; round++) {
        const scope = yield* Scope.make()
        const a = yield* make(`a${round}@127.0.0.1`).pipe(Scope.extend(scope))
        const b = yield* make(`b${round}@127.0.0.1`).pipe(Scope.extend(scope))
        const ra = yield* a.spawn(Relay, a.probe)
        const rb = yield* b.spawn(Relay, b.probe)
        // both send first, in the same turn: each starts a connection to the other
        for (let i = 0; i < 100; i++) {
          yield* a.node.trySend(rb, i)
          yield* b.node.trySend(ra, i)
        }
        for (let i = 0; i < 100; i++) assert.strictEqual(yield* a.receive("3 seconds"), i)
        for (let i = 0; i < 100; i++) assert.strictEqual(yield* b.receive("3 seconds"), i)
        assert.deepStrictEqual(yield* a.node.nodes, [`b${round}@127.0.0.1`])
        assert.deepStrictEqual(yield* b.node.nodes, [`a${round}@127.0.0.1`])
        yield* Scope.close(scope, Exit.void)
      }
    }))

  it.scopedLive("an unregistered type fails at the sender and nothing is sent", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const relay = yield* b.spawn(Relay, b.probe)
      const error = yield* Effect.flip(a.node.trySend(relay, new Secret({ text: "x" })))
      assert.strictEqual((error as any)._tag, "TypeNotRegistered")
      assert.include(error.message, "Secret")
      const nested = yield* Effect.flip(a.node.trySend(relay, { inner: [new Secret({ text: "y" })] }))
      assert.strictEqual((nested as any)._tag, "TypeNotRegistered")
      yield* a.send(relay, "after")
      assert.strictEqual(yield* b.receive("2 seconds"), "after")
    }))

  it.scopedLive("100k messages arrive in order", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const n = 100_000
      const checker = yield* b.spawn(InOrder, { to: b.probe, count: n })
      const sender = yield* a.spawn(Counter, 0)
      const senderProc = kernelOf(a.node).lookup(sender)!
      // from one process (a pair of processes keeps its order), in several event-loop turns
      for (let i = 0; i < n; i++) {
        const error = kernelOf(a.node).send(senderProc, checker, i)
        if (error !== undefined) assert.fail(String(error))
        if (i % 10_000 === 0) yield* Effect.yieldNow()
      }
      assert.strictEqual(yield* b.receive("20 seconds"), "done")
    }), 60_000)

  it.scopedLive("an 8 MB payload crosses", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const relay = yield* b.spawn(Relay, b.probe)
      const data = new Uint8Array(8 * 1024 * 1024)
      for (let i = 0; i < data.length; i += 4096) data[i] = i % 251
      yield* a.send(relay, new Blob({ seq: 1, data }))
      const got = (yield* b.receive("10 seconds")) as Blob
      assert.instanceOf(got, Blob)
      assert.strictEqual(got.data.length, data.length)
      assert.isTrue(Buffer.from(got.data).equals(Buffer.from(data)))
    }), 30_000)

  it.scopedLive("a wrong cookie is refused while other connections keep working", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const intruder = yield* make("x@127.0.0.1", { cookie: "wrong" })
      const relay = yield* b.spawn(Relay, b.probe)
      yield* a.send(relay, "before")
      assert.strictEqual(yield* b.receive("2 seconds"), "before")
      const error = yield* Effect.flip(intruder.node.connect("b@127.0.0.1"))
      assert.strictEqual(error._tag, "NoConnection")
      assert.deepStrictEqual(yield* b.node.nodes, ["a@127.0.0.1"])
      // a send is silent (Erlang's) or fails with NoConnection; either way nothing arrives
      const sent = yield* Effect.either(intruder.node.trySend(relay, "intruder"))
      if (Either.isLeft(sent)) assert.strictEqual(sent.left._tag, "NoConnection")
      yield* a.send(relay, "after")
      assert.strictEqual(yield* b.receive("2 seconds"), "after")
      yield* b.expectNoMessage("100 millis")
    }))

  it.scopedLive("remote spawn: allowed behaviour gives a pid, another is refused", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      yield* make("b@127.0.0.1")
      const pid = yield* a.node.spawnRemote("b@127.0.0.1", "Counter", 10)
      assert.strictEqual(pid.node, "b@127.0.0.1")
      assert.strictEqual(yield* a.call(pid as Process.Ref<Increment, GetCount>, new GetCount()), 10)
      const refused = yield* Effect.flip(a.node.spawnRemote("b@127.0.0.1", "Relay", undefined))
      assert.strictEqual(refused._tag, "SpawnRefused")
      assert.include(refused.message, "allowSpawn")
      assert.include(refused, { node: "b@127.0.0.1", behaviour: "Relay" })
      assert.notInclude(String((refused as { reason?: string }).reason), "did not start", "the remote node's refusal as it is, not wrapped in another")
      const self = yield* Effect.flip(a.node.spawnRemote("a@127.0.0.1", "Counter", 1))
      assert.strictEqual(self._tag, "SpawnRefused")
      assert.include(self.message, "that is this node")
      const app = yield* Effect.flip(a.node.startRemoteApplication("b@127.0.0.1", "no-such-app"))
      assert.strictEqual(app._tag, "SpawnRefused")
    }))

  it.scopedLive("remote spawn with a name registers it there; a taken name or a failing init is refused with why", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1", { allowSpawn: [Counter, Refuser] })
      const pid = yield* a.node.spawnRemote("b@127.0.0.1", "Counter", 5, { name: "counter" })
      assert.deepStrictEqual(yield* b.node.whereis("counter"), Option.some(pid))
      yield* a.send(Process.name("counter", "b@127.0.0.1"), new Increment({ by: 2 }))
      assert.strictEqual(yield* a.call(pid as Process.Ref<Increment, GetCount>, new GetCount()), 7)
      const taken = yield* Effect.flip(a.node.spawnRemote("b@127.0.0.1", "Counter", 0, { name: "counter" }))
      assert.strictEqual(taken._tag, "SpawnRefused")
      assert.include(taken.message, "The name \"counter\" is already registered")
      assert.notInclude(taken.message, "allowSpawn")
      const failed = yield* Effect.flip(a.node.spawnRemote("b@127.0.0.1", "Refuser", undefined))
      assert.strictEqual(failed._tag, "SpawnRefused")
      assert.include(failed.message, "no, thanks")
      assert.notInclude(String((failed as { reason?: string }).reason), "did not start")
    }))

  it.scoped("a node without network: its network operations fail with NotDistributed or report nothing", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ name: "alone@localhost" })
      const node = env.node
      for (const error of [
        yield* Effect.flip(node.connect("b@127.0.0.1")),
        yield* Effect.flip(node.spawnRemote("b@127.0.0.1", "Counter", 1)),
        yield* Effect.flip(node.startRemoteApplication("b@127.0.0.1", "app"))
      ]) {
        assert.strictEqual(error._tag, "NotDistributed")
        assert.strictEqual((error as { readonly node?: string }).node, "alone@localhost")
      }
      assert.strictEqual(node.port, 0)
      assert.strictEqual(node.address, "")
      assert.deepStrictEqual(yield* node.nodes, [])
      assert.deepStrictEqual(yield* node.connections, { count: 0, maxNodes: 0, peers: [] })
      yield* node.disconnect("b@127.0.0.1")
      const down = yield* node.monitorNode("b@127.0.0.1")
      assert.deepStrictEqual([down.node, down.reason], ["b@127.0.0.1", "not connected"])
    }))

  it.scopedLive("remote spawn linked or monitored from the start: a process that dies at once still signals its spawner", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      yield* make("b@127.0.0.1", { allowSpawn: [Counter, Crasher] })
      const spawner = yield* a.spawn(Spawner, a.probe, { trapExit: true } as any)
      yield* a.send(spawner, "link")
      const linked = yield* a.receive("2 seconds")
      assert.instanceOf(linked, Process.Pid)
      const exit = yield* a.receiveMatching(isExit, "2 seconds")
      assert.deepStrictEqual(exit.from, linked)
      assert.strictEqual(exit.reason._tag, "error")
      yield* a.send(spawner, "monitor")
      const monitored = yield* a.receive("2 seconds")
      const down = yield* a.receiveMatching(isDown, "2 seconds")
      assert.deepStrictEqual(down.target, monitored)
      assert.strictEqual(down.reason._tag, "error")
      // a refusal reaches the spawner as a SpawnRefused failure
      yield* a.send(spawner, "refused")
      assert.strictEqual(yield* a.receive("2 seconds"), "SpawnRefused")
    }))

  it.scopedLive("three nodes; disconnect fires node monitors; reconnect on next send", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const c = yield* make("c@127.0.0.1")
      const rb = yield* b.spawn(Relay, b.probe)
      const rc = yield* c.spawn(Relay, c.probe)
      yield* a.send(rb, "to-b")
      yield* a.send(rc, "to-c")
      yield* b.send(rc, "b-to-c")
      assert.strictEqual(yield* b.receive("2 seconds"), "to-b")
      assert.strictEqual(yield* c.receive("2 seconds"), "to-c")
      assert.strictEqual(yield* c.receive("2 seconds"), "b-to-c")
      assert.sameMembers([...(yield* a.node.nodes)], ["b@127.0.0.1", "c@127.0.0.1"])
      const watcher = yield* a.spawn(Relay, a.probe)
      yield* a.send(watcher, { monitorNode: "b@127.0.0.1" })
      yield* a.send(watcher, "watching")
      assert.strictEqual(yield* a.receive("5 seconds"), "watching")
      yield* a.node.disconnect("b@127.0.0.1")
      const down = yield* a.receiveMatching(isNodeDown, "5 seconds")
      assert.strictEqual(down.node, "b@127.0.0.1")
      assert.deepStrictEqual(yield* a.node.nodes, ["c@127.0.0.1"], "only c is still connected")
      yield* a.send(rb, "again")
      assert.strictEqual(yield* b.receive("2 seconds"), "again")
    }))

  it.scopedLive("node.monitorNode of a connected node ends when that node goes, not when another does; interrupted, it stops watching", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      yield* make("b@127.0.0.1")
      yield* make("c@127.0.0.1")
      yield* a.node.connect("b@127.0.0.1")
      yield* a.node.connect("c@127.0.0.1")
      const downListeners = (kernelOf(a.node).remote as unknown as Distribution).peers.downListeners
      const before = downListeners.size
      const watchB = yield* Effect.fork(a.node.monitorNode("b@127.0.0.1"))
      const dropped = yield* Effect.fork(a.node.monitorNode("b@127.0.0.1"))
      yield* Effect.yieldNow()
      assert.strictEqual(downListeners.size, before + 2)
      yield* Fiber.interrupt(dropped)
      assert.strictEqual(downListeners.size, before + 1, "the interrupted watch is gone")
      yield* a.node.disconnect("c@127.0.0.1")
      yield* Effect.sleep("20 millis")
      assert.isNull(watchB.unsafePoll(), "c going down does not end a watch of b")
      yield* a.node.disconnect("b@127.0.0.1")
      const down = yield* within(Fiber.join(watchB), "NodeDown for b", 5)
      assert.instanceOf(down, Process.NodeDown)
      assert.strictEqual(down.node, "b@127.0.0.1")
      assert.strictEqual(down.reason, "disconnected")
      assert.strictEqual(downListeners.size, before, "an answered watch is gone")
    }))

  it.scopedLive("a callee that answers a remote caller twice stays alive (the second answer is dropped); losing a node fails only the calls to it", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const Twice = Process.make({
        name: "Twice",
        init: () => Effect.void,
        handleCall: (_: "ask", from, s, ctx) =>
          Effect.as(Effect.zipRight(ctx.reply(from, "first"), ctx.reply(from, "second")), Process.noReply(s))
      })
      const twice = yield* b.spawn(Twice, undefined)
      assert.strictEqual(yield* a.node.call(twice, "ask" as const, "5 seconds"), "first")
      yield* Effect.sleep("20 millis")
      assert.isTrue(Option.isSome(yield* b.node.info(twice)), "the second answer did not crash it")
      // a local call waiting on a, while a loses b: it is not b's, so it goes on
      const gate = yield* Deferred.make<void>()
      const Slow = Process.make({
        name: "Slow",
        init: () => Effect.void,
        handleCall: (_: "ask", _from, s) => Effect.as(Deferred.await(gate), Process.reply("local answer", s))
      })
      const slow = yield* a.spawn(Slow, undefined)
      const local = yield* Effect.fork(a.node.call(slow, "ask" as const, "5 seconds"))
      yield* Effect.sleep("20 millis")
      yield* a.node.disconnect("b@127.0.0.1")
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(yield* within(Fiber.join(local), "the local call", 5), "local answer")
    }))

  it.scopedLive("remote application start: an allowed application starts there, another is refused", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const app = Application.make({ name: "shop", version: "1.0.0", root: [{ id: "counter", behaviour: Counter, args: 0 }] })
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1", { allowApplications: [app] })
      yield* a.node.startRemoteApplication("b@127.0.0.1", "shop")
      const [info] = yield* Application.which(b.node)
      assert.strictEqual(info?.name, "shop")
      assert.strictEqual(info?.state, "running")
      const refused = yield* Effect.flip(a.node.startRemoteApplication("b@127.0.0.1", "bank"))
      assert.strictEqual(refused._tag, "SpawnRefused")
      assert.include(refused.message, "allowApplications")
    }))

  it.scopedLive.skipIf(!hasOpenssl)("TLS with client certificates; a peer trusting another CA cannot connect", () =>
    Effect.gen(function*() {
      const certs = makeCerts()
      const tls = { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requireClientCert: true }
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1", { tls })
      const b = yield* make("b@127.0.0.1", { tls })
      const relay = yield* b.spawn(Relay, b.probe)
      yield* a.send(relay, "over tls")
      assert.strictEqual(yield* b.receive("5 seconds"), "over tls")
      const counter = yield* b.spawn(Counter, 3)
      assert.strictEqual(yield* a.call(counter, new GetCount()), 3)
      // c trusts another CA: b's certificate is refused, and b's other connection lives
      const c = yield* make("c@127.0.0.1", { tls: { ...tls, ca: certs.otherCa } })
      const refused = yield* Effect.flip(c.node.connect("b@127.0.0.1"))
      assert.strictEqual(refused._tag, "NoConnection")
      assert.include(refused.message, "certificate")
      assert.strictEqual(yield* a.call(counter, new GetCount()), 3)
      assert.deepStrictEqual(yield* b.node.nodes, ["a@127.0.0.1"])
    }))

  it.scopedLive("an undecodable frame is logged and dropped; the connection lives", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const relay = yield* b.spawn(Relay, b.probe)
      yield* a.send(relay, "before")
      assert.strictEqual(yield* b.receive("2 seconds"), "before")
      const conn = (kernelOf(a.node).remote as any).peers.conn("b@127.0.0.1")
      // a frame (length 4: flags 0, then 3 bytes) whose payload is not msgpack
      conn.session.duplex.write(Buffer.from([0, 0, 0, 4, 0, 0xc1, 0xff, 0xff]))
      yield* a.send(relay, "after")
      assert.strictEqual(yield* b.receive("2 seconds"), "after")
      assert.deepStrictEqual(yield* b.node.nodes, ["a@127.0.0.1"])
      const logs = yield* b.logs
      assert.isTrue(logs.some((entry) => entry.message.includes("undecodable")))
    }))

  it.scopedLive("a silent peer is taken as lost after tickTime (net tick)", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1", { tickTime: "400 millis" })
      const b = yield* make("b@127.0.0.1", { tickTime: "400 millis" })
      const target = yield* b.spawn(Relay, undefined)
      yield* a.monitor(target)
      yield* Effect.sleep("600 millis")
      assert.deepStrictEqual(yield* a.node.nodes, ["b@127.0.0.1"])
      // b goes silent: no ticks, nothing read
      const remoteB = kernelOf(b.node).remote as any
      remoteB.peers.cancelTicker()
      remoteB.peers.conn("a@127.0.0.1").session.duplex.write = () => {}
      const down = yield* a.receiveMatching(isDown, "2 seconds")
      assert.strictEqual(down.reason._tag, "noconnection")
    }))

  it.scopedLive("link and monitor from both sides at once", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const pa = yield* a.spawn(Relay, a.probe, { trapExit: true } as any)
      const pb = yield* b.spawn(Relay, b.probe, { trapExit: true } as any)
      // same turn, before any connection exists
      yield* a.node.trySend(pa, { link: pb })
      yield* b.node.trySend(pb, { link: pa })
      yield* a.monitor(pb)
      yield* b.monitor(pa)
      yield* settled(a, [pa], yield* b.spawn(Counter, 0))
      yield* settled(b, [pb], yield* a.spawn(Counter, 0))
      yield* b.send(pb, "crash")
      const exit = yield* a.receiveMatching(isExit, "2 seconds")
      assert.deepStrictEqual(exit.from, pb)
      assert.strictEqual(exit.reason._tag, "error")
      const down = yield* a.receiveMatching(isDown, "2 seconds")
      assert.strictEqual(down.reason._tag, "error")
      yield* a.send(pa, "stop")
      const downA = yield* b.receiveMatching(isDown, "2 seconds")
      assert.deepStrictEqual(downA.target, pa)
      assert.strictEqual(downA.reason._tag, "normal")
    }))

  it.scopedLive("a remote unlink and a remote demonitor reach the other node: its process's end then signals nothing", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const server = yield* b.spawn(Counter, 0)
      const pa = yield* a.spawn(Relay, a.probe, { trapExit: true } as any)
      const pb = yield* b.spawn(Relay, undefined)
      yield* a.send(pa, { link: pb })
      yield* a.send(pa, { monitor: pb })
      const ref = yield* a.receive("5 seconds")
      yield* settled(a, [pa], server)
      assert.isTrue(kernelOf(b.node).lookup(pb)!.links?.has(pidKey(pa)) === true, "the link reached b")
      assert.strictEqual(kernelOf(b.node).lookup(pb)!.watchers?.size, 1, "the monitor reached b")
      yield* a.send(pa, { unlink: pb })
      yield* a.send(pa, { demonitor: ref })
      yield* settled(a, [pa], server)
      assert.isFalse(kernelOf(b.node).lookup(pb)!.links?.has(pidKey(pa)) === true, "the unlink reached b")
      assert.strictEqual(kernelOf(b.node).lookup(pb)!.watchers?.size ?? 0, 0, "the demonitor reached b")
      yield* b.send(pb, "crash")
      assert.strictEqual((yield* b.exitReason(pb))._tag, "error")
      // neither an Exit nor a Down comes: the next thing pa forwards is this
      yield* settled(a, [pa], server)
      yield* a.expectNoMessage("100 millis")
      assert.isBelow(kernelOf(a.node).lookup(pa)!.status, EXITING, "pa lives on")
    }))

  it.scopedLive("a remote call in flight fails with NoConnection when the connection drops, long before its timeout", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const black = yield* b.spawn(Black, undefined)
      const calls = yield* Effect.forEach([0, 1, 2], () => Effect.fork(a.call(black, new Hang(), "60 seconds")))
      // all three requests reached b: the server counted them
      yield* settled(a, [], yield* b.spawn(Counter, 0))
      assert.deepStrictEqual(yield* b.state(black), Option.some(3))
      assert.strictEqual(kernelOf(a.node).pending.size, 3)
      yield* a.node.disconnect("b@127.0.0.1")
      for (const call of calls) {
        const error = yield* within(Effect.flip(Fiber.join(call)), "the call to fail on connection loss", 5)
        assert.strictEqual(error._tag, "NoConnection")
      }
      assert.strictEqual(kernelOf(a.node).pending.size, 0)
      // the node lives and reconnects for the next call
      assert.strictEqual(yield* a.call(yield* b.spawn(Counter, 9), new GetCount(), "5 seconds"), 9)
    }))

  for (const trap of [false, true]) {
    it.scopedLive(`exit(pid, reason) to a process on another node, trapping=${trap}`, () =>
      Effect.gen(function*() {
        const { make } = yield* cluster
        const a = yield* make("a@127.0.0.1")
        const b = yield* make("b@127.0.0.1")
        const sender = yield* a.spawn(Relay, a.probe)
        const target = yield* b.spawn(Relay, b.probe, { trapExit: trap } as any)
        // a normal exit signal from another process is ignored unless trapped
        yield* a.send(sender, { exitTo: target, reason: Process.ExitReason.normal })
        if (trap) {
          const exit = yield* b.receiveMatching(isExit, "5 seconds")
          assert.deepStrictEqual(exit.from, sender)
          assert.strictEqual(exit.reason._tag, "normal")
        }
        yield* a.send(sender, { exitTo: target, reason: Process.ExitReason.error("bad") })
        if (trap) {
          const exit = yield* b.receiveMatching(isExit, "5 seconds")
          assert.deepStrictEqual(exit.from, sender)
          assert.strictEqual(exit.reason._tag, "error")
          assert.isTrue(Option.isSome(yield* b.node.info(target)), "a trapping process lives")
          // kill cannot be trapped
          yield* a.send(sender, { exitTo: target, reason: Process.ExitReason.kill })
          assert.strictEqual((yield* within(b.exitReason(target), "the killed process to exit", 5))._tag, "killed")
        } else {
          const reason = yield* within(b.exitReason(target), "the signalled process to exit", 5)
          assert.strictEqual(reason._tag, "error")
          assert.include(Process.ExitReason.format(reason), "bad")
        }
        // the node-level exit reaches a remote process too
        const other = yield* b.spawn(Relay, b.probe)
        yield* a.node.exit(other, Process.ExitReason.shutdown)
        assert.strictEqual((yield* within(b.exitReason(other), "node.exit to reach b", 5))._tag, "shutdown")
      }))
  }
})
