import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { Process } from "../../src/index.js"
import * as Testing from "../testing.js"
import { Relay } from "./helpers.js"

const { ExitReason } = Process

/** How a process is made to end, and the reason it ends with. */
const endings = [
  { name: "normal (stop)", command: "stop", reason: "normal" },
  { name: "failure", command: "crash", reason: "error" },
  { name: "defect", command: "die", reason: "error" }
] as const

const signals = [
  { name: "normal", reason: ExitReason.normal },
  { name: "shutdown", reason: ExitReason.shutdown },
  { name: "shutdown with detail", reason: ExitReason.shutdownWith("bye") },
  { name: "custom error", reason: ExitReason.error("bad") },
  { name: "kill", reason: ExitReason.kill }
] as const

const isAlive = (env: Testing.TestEnv, pid: Process.Pid) => Effect.map(env.node.info(pid), Option.isSome)

describe("links", () => {
  for (const ending of endings) {
    for (const trap of [false, true]) {
      it.scoped(`linked process ends by ${ending.name}; other side trapping=${trap}`, () =>
        Effect.gen(function*() {
          const env = yield* Testing.make()
          const a = yield* env.spawn(Relay, undefined)
          const b = yield* env.spawn(Relay, env.probe, { trapExit: trap })
          yield* env.send(a, { link: b })
          yield* env.send(a, "ping-a")
          yield* env.send(a, ending.command)
          assert.strictEqual((yield* env.exitReason(a))._tag, ending.reason)
          if (trap) {
            const exit = yield* env.receiveMatching((u): u is Process.Exit => u instanceof Process.Exit)
            assert.deepStrictEqual(exit.from, a)
            assert.strictEqual(exit.reason._tag, ending.reason)
            assert.isTrue(yield* isAlive(env, b))
          } else if (ending.reason === "normal") {
            // normal exits do not propagate
            yield* env.send(b, "alive?")
            assert.strictEqual(yield* env.receive(), "alive?")
            assert.isTrue(yield* isAlive(env, b))
          } else {
            const reason = yield* env.exitReason(b)
            assert.strictEqual(reason._tag, ending.reason)
          }
        }))
    }
  }

  for (const signal of signals) {
    for (const trap of [false, true]) {
      it.scoped(`exit(pid, ${signal.name}) to a process trapping=${trap}`, () =>
        Effect.gen(function*() {
          const env = yield* Testing.make()
          const sender = yield* env.spawn(Relay, undefined)
          const target = yield* env.spawn(Relay, env.probe, { trapExit: trap })
          yield* env.send(sender, { exitTo: target, reason: signal.reason })
          const tag = signal.reason._tag
          if (tag === "kill") {
            // kill cannot be trapped; the process ends with killed
            assert.strictEqual((yield* env.exitReason(target))._tag, "killed")
          } else if (trap) {
            const exit = yield* env.receiveMatching((u): u is Process.Exit => u instanceof Process.Exit)
            assert.deepStrictEqual(exit.from, sender)
            assert.strictEqual(exit.reason._tag, tag)
            assert.isTrue(yield* isAlive(env, target))
          } else if (tag === "normal") {
            yield* env.send(target, "alive?")
            assert.strictEqual(yield* env.receive(), "alive?")
          } else {
            assert.strictEqual((yield* env.exitReason(target))._tag, tag)
          }
        }))
    }
  }

  it.scoped("killed propagates through links as a trappable killed", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const victim = yield* env.spawnLink(Relay, undefined)
      yield* env.node.exit(victim, ExitReason.kill)
      const exit = yield* env.receiveMatching((u): u is Process.Exit => u instanceof Process.Exit)
      assert.strictEqual(exit.reason._tag, "killed")
    }))

  it.scoped("exit(self, normal) ends the process; links are bidirectional", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const SelfExit = Process.make({
        name: "SelfExit",
        init: () => Effect.void,
        handleMessage: (_: string, s, ctx) => Effect.as(ctx.exit(ctx.self, ExitReason.normal), s)
      })
      const pid = yield* env.spawn(SelfExit, undefined)
      yield* env.send(pid, "go")
      assert.strictEqual((yield* env.exitReason(pid))._tag, "normal")
      // b links to a; a crashes; b (not trapping) dies too; c linked to b, trapping, sees b's reason
      // each link acknowledged (a Relay forwards the next message to the probe) before a crashes:
      // a link to a process already dead would be an exit signal noproc instead
      const a = yield* env.spawn(Relay, undefined)
      const b = yield* env.spawn(Relay, env.probe)
      yield* env.send(b, { link: a })
      yield* env.send(b, "b linked")
      assert.strictEqual(yield* env.receive(), "b linked")
      const probeLinksB = yield* env.spawnLink(Relay, env.probe)
      yield* env.send(probeLinksB, { link: b })
      yield* env.send(probeLinksB, "probe linked")
      assert.strictEqual(yield* env.receive(), "probe linked")
      yield* env.send(a, "crash")
      assert.strictEqual((yield* env.exitReason(b))._tag, "error")
      assert.strictEqual((yield* env.exitReason(probeLinksB))._tag, "error")
    }))

  it.scoped("linking to a dead process gives an exit signal noproc", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const dead = yield* env.spawn(Relay, undefined)
      yield* env.send(dead, "stop")
      yield* env.exitReason(dead)
      const linker = yield* env.spawn(Relay, env.probe, { trapExit: true })
      yield* env.send(linker, { link: dead })
      const exit = yield* env.receiveMatching((u): u is Process.Exit => u instanceof Process.Exit)
      assert.strictEqual(exit.reason._tag, "noproc")
    }))

  it.scoped("unlink stops propagation", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Unlinker = Process.make({
        name: "Unlinker",
        init: () => Effect.void,
        handleMessage: (msg: { link?: Process.Pid; unlink?: Process.Pid; echo?: string }, s, ctx) =>
          msg.link ? Effect.as(ctx.link(msg.link), s)
          : msg.unlink ? Effect.as(ctx.unlink(msg.unlink), s)
          : Effect.as(ctx.send(env.probe, msg.echo), s)
      })
      const a = yield* env.spawn(Relay, undefined)
      const b = yield* env.spawn(Unlinker, undefined)
      // each step acknowledged before the next: `a` must not crash before `b` has linked and unlinked
      yield* env.send(b, { link: a })
      yield* env.send(b, { echo: "linked" })
      assert.strictEqual(yield* env.receive(), "linked")
      assert.strictEqual(Option.getOrThrow(yield* env.node.info(b)).links.length, 1)
      yield* env.send(b, { unlink: a })
      yield* env.send(b, { echo: "unlinked" })
      assert.strictEqual(yield* env.receive(), "unlinked")
      yield* env.send(a, "crash")
      yield* env.exitReason(a)
      yield* env.send(b, { echo: "alive" })
      assert.strictEqual(yield* env.receive(), "alive")
      const info = yield* env.node.info(b)
      assert.strictEqual(Option.getOrThrow(info).links.length, 0)
    }))

  it.scoped("a crash in one process never stops unrelated ones or the node", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const bystander = yield* env.spawn(Relay, env.probe)
      const crashers = yield* Effect.forEach(Array.from({ length: 50 }), () => env.spawn(Relay, undefined))
      yield* Effect.forEach(crashers, (p, i) => env.send(p, i % 2 === 0 ? "crash" : "die"))
      yield* Effect.forEach(crashers, (p) => env.exitReason(p))
      yield* env.send(bystander, "still here")
      assert.strictEqual(yield* env.receive(), "still here")
    }))
})

describe("monitors", () => {
  it.scoped("exactly one Down with the exit reason", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const target = yield* env.spawn(Relay, undefined)
      yield* env.monitor(target)
      yield* env.send(target, "crash")
      const down = yield* env.receiveMatching((u): u is Process.Down => u instanceof Process.Down)
      assert.deepStrictEqual(down.target, target)
      assert.strictEqual(down.reason._tag, "error")
      yield* env.expectNoMessage("20 millis")
    }))

  it.scoped("monitoring a dead pid gives Down noproc at once", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const target = yield* env.spawn(Relay, undefined)
      yield* env.send(target, "stop")
      yield* env.exitReason(target)
      yield* env.monitor(target)
      const down = yield* env.receiveMatching((u): u is Process.Down => u instanceof Process.Down)
      assert.strictEqual(down.reason._tag, "noproc")
    }))

  it.scoped("monitor by name: Down names the name; demonitor prevents Down", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Watcher = Process.make({
        name: "Watcher",
        init: () => Effect.succeed(new Map<string, Process.Reference>()),
        handleMessage: (msg: { watch?: string; unwatch?: string }, refs, ctx) =>
          Effect.gen(function*() {
            if (msg.watch) refs.set(msg.watch, yield* ctx.monitor(msg.watch))
            if (msg.unwatch) yield* ctx.demonitor(refs.get(msg.unwatch)!)
            yield* ctx.send(env.probe, `done ${msg.watch ?? msg.unwatch}`)
            return refs
          }),
        handleInfo: (info, refs, ctx) => Effect.as(ctx.send(env.probe, info), refs)
      })
      const watcher = yield* env.spawn(Watcher, undefined)
      const a = yield* env.spawn(Relay, undefined, { name: "a" })
      const b = yield* env.spawn(Relay, undefined, { name: "b" })
      // each step acknowledged: a crash before the watcher monitors would be a Down noproc instead
      yield* env.send(watcher, { watch: "a" })
      yield* env.send(watcher, { watch: "b" })
      yield* env.send(watcher, { unwatch: "b" })
      for (const step of ["done a", "done b", "done b"]) assert.strictEqual(yield* env.receive(), step)
      yield* env.send(b, "crash")
      yield* env.send(a, "crash")
      const down = (yield* env.receive()) as Process.Down
      assert.instanceOf(down, Process.Down)
      assert.instanceOf(down.target, Process.Name)
      assert.strictEqual((down.target as Process.Name).name, "a")
      yield* env.expectNoMessage("20 millis")
      // the monitored side keeps no record of removed or fired monitors
      assert.strictEqual(Option.getOrThrow(yield* env.node.info(watcher)).monitors, 0)
    }))

  it.scoped("spawnMonitor and spawnLink set up before any exit can slip by", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const DiesAtOnce = Process.make({
        name: "DiesAtOnce",
        init: (_: void, ctx) => Effect.as(ctx.send(ctx.self, "crash"), undefined),
        handleMessage: () => Effect.fail("first message kills me")
      })
      const Parent = Process.make({
        name: "Parent",
        options: { trapExit: true },
        init: () => Effect.void,
        handleMessage: (how: "monitor" | "link", s, ctx) =>
          (how === "monitor"
            ? Effect.flatMap(ctx.spawnMonitor(DiesAtOnce, undefined), ([pid]) => ctx.send(env.probe, pid))
            : Effect.flatMap(ctx.spawnLink(DiesAtOnce, undefined), (pid) => ctx.send(env.probe, pid))).pipe(Effect.as(s)),
        handleInfo: (info, s, ctx) => Effect.as(ctx.send(env.probe, info), s)
      })
      const parent = yield* env.spawn(Parent, undefined)
      yield* env.send(parent, "monitor")
      const monitored = (yield* env.receive()) as Process.Pid
      const down = (yield* env.receive()) as Process.Down
      assert.instanceOf(down, Process.Down)
      assert.deepStrictEqual(down.target, monitored)
      assert.strictEqual(down.reason._tag, "error")
      yield* env.send(parent, "link")
      const linked = (yield* env.receive()) as Process.Pid
      const exit = (yield* env.receive()) as Process.Exit
      assert.instanceOf(exit, Process.Exit)
      assert.deepStrictEqual(exit.from, linked)
      assert.strictEqual(exit.reason._tag, "error")
      yield* env.expectNoMessage("20 millis")
      assert.isTrue(yield* isAlive(env, parent), "the trapping parent lives")
    }))
})

