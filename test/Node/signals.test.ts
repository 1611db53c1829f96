/**
 * Links and exit signals (`src/Node/internal/signals.ts`) at the edges a user rarely
 * reaches but the kernel must get right: a link to oneself, to a node with no distribution,
 * a link that an exit signal consumes, exit signals from another node with and without the
 * link they claim, and the pids that look like the parent's or the target's own but belong
 * to another node or incarnation. Written against the survivors of the mutation run of
 * part `core2` (issue 24): each test fails when the check it names is removed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import { Process } from "../../src/index.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"
import { pidKey } from "../../src/Node/internal/proc.js"
import {
  adoptRemoteMonitor,
  exitSignal,
  link,
  nodeDown,
  remoteExitSignal,
  remoteLink,
  remoteMonitor
} from "../../src/Node/internal/signals.js"
import { Pid } from "../../src/Process/Pid.js"
import * as Testing from "../testing.js"
import { Idle, Lingering } from "../Process/helpers.js"

/** What a process was told, as one line: "Exit <from> <reason>", "Down <target> <reason>", "NodeDown <node>". */
const describeInfo = (info: unknown): string => {
  const i = info as { readonly _tag: string; readonly from?: unknown; readonly target?: unknown; readonly node?: string; readonly reason?: Process.Reason }
  if (i._tag === "NodeDown") return `NodeDown ${i.node}`
  return `${i._tag} ${i._tag === "Down" ? i.target : i.from} ${Process.ExitReason.format(i.reason!)}`
}

/** Traps exits and reports each signal it gets to `probe` (`describeInfo`); "watch" monitors every node. */
const Trapper = Process.make({
  name: "Trapper",
  options: { trapExit: true },
  init: (probe: Process.Pid) => Effect.succeed(probe),
  handleMessage: (msg: "ping" | "watch", probe, ctx) =>
    msg === "watch"
      ? Effect.as(Effect.zipRight(ctx.monitorNode("*"), Effect.orDie(ctx.send(probe, "watching"))), probe)
      : Effect.as(Effect.orDie(ctx.send(probe, "pong")), probe),
  handleInfo: (info, probe, ctx) => Effect.as(Effect.orDie(ctx.send(probe, describeInfo(info))), probe),
  terminate: (reason, probe, ctx) => Effect.orDie(ctx.send(probe, `terminate ${Process.ExitReason.format(reason)}`))
})

/** Spawns and links a trapping child (reporting to `probe`): its parent, as proc_lib has it. Tells `probe` the child's pid. */
const Parent = Process.make({
  name: "Parent",
  init: (probe: Process.Pid) => Effect.succeed(probe),
  handleMessage: (_: "spawn", probe, ctx) =>
    Effect.gen(function*() {
      const child = yield* Effect.orDie(ctx.spawnLink(Trapper, probe))
      yield* Effect.orDie(ctx.send(probe, child))
      return probe
    })
})



describe("links and exit signals at the edges", () => {
  it.scoped("a link to oneself is no link, and no signal", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const pid = yield* env.spawn(Trapper, env.probe)
      const proc = kernel.lookup(pid)!
      link(kernel, proc, pid)
      assert.strictEqual(proc.links?.size ?? 0, 0)
      yield* env.expectNoMessage("20 millis")
    }))

  it.scoped("a link to a pid of another node, on a node without distribution, is an exit signal noconnection", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const pid = yield* env.spawn(Trapper, env.probe)
      const proc = kernel.lookup(pid)!
      const far = new Pid({ node: "elsewhere@host", id: 7, creation: 1 })
      link(kernel, proc, far)
      assert.strictEqual(yield* env.receive(), `Exit ${far} noconnection`)
      assert.isFalse(proc.links?.has(pidKey(far)) ?? false, "the link the signal came through is gone")
    }))

  it.scoped("an exit signal through a link removes that link on the receiving end", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const trapper = yield* env.spawn(Trapper, env.probe)
      const other = yield* env.spawn(Idle, undefined)
      const proc = kernel.lookup(trapper)!
      const otherProc = kernel.lookup(other)!
      link(kernel, proc, other)
      assert.isTrue(proc.links?.has(otherProc) ?? false)
      yield* env.node.exit(other, Process.ExitReason.error("boom"))
      assert.match(String(yield* env.receive()), new RegExp(`^Exit ${other} error`))
      assert.strictEqual(proc.links?.size ?? 0, 0)
    }))

  it.scoped("an exit signal from another node through a link that does not exist here is dropped", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const trapper = yield* env.spawn(Trapper, env.probe)
      const far = new Pid({ node: "elsewhere@host", id: 7, creation: 1 })
      remoteExitSignal(kernel, far, trapper, Process.ExitReason.shutdown, true)
      yield* env.send(trapper, "ping")
      assert.strictEqual(yield* env.receive(), "pong", "no exit signal came before the ping's answer")
      // With the link in place, the same signal arrives and consumes the link.
      assert.isTrue(remoteLink(kernel, far, trapper))
      remoteExitSignal(kernel, far, trapper, Process.ExitReason.shutdown, true)
      assert.strictEqual(yield* env.receive(), `Exit ${far} shutdown`)
      assert.isFalse(kernel.lookup(trapper)!.links?.has(pidKey(far)) ?? false)
      // Not through a link (exit/2 from there), no link is needed.
      remoteExitSignal(kernel, far, trapper, Process.ExitReason.shutdown, false)
      assert.strictEqual(yield* env.receive(), `Exit ${far} shutdown`)
    }))

  it.scoped("a remote link to a process that is gone or exiting is refused (noproc)", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const far = new Pid({ node: "elsewhere@host", id: 7, creation: 1 })
      const gone = yield* env.spawn(Idle, undefined)
      yield* env.node.exit(gone, Process.ExitReason.kill)
      yield* env.exitReason(gone)
      assert.isFalse(remoteLink(kernel, far, gone))
      const gate = yield* Deferred.make<void>()
      // Opened whatever happens, so that a failed assertion does not leave the node waiting on it.
      yield* Effect.addFinalizer(() => Deferred.succeed(gate, undefined))
      const exiting = yield* env.spawn(Lingering, { probe: env.probe, gate })
      yield* env.node.exit(exiting, Process.ExitReason.shutdown)
      assert.strictEqual(yield* env.receive(), "exiting")
      assert.isFalse(remoteLink(kernel, far, exiting), "a process running terminate takes no new link")
      assert.strictEqual(kernel.lookup(exiting)!.links?.size ?? 0, 0)
      const trapper = yield* env.spawn(Trapper, env.probe)
      assert.isTrue(remoteLink(kernel, far, trapper))
    }))

  it.scoped("only the parent's own pid is the parent: the same id on another node or incarnation is an ordinary exit signal", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const parent = yield* env.spawn(Parent, env.probe)
      yield* env.send(parent, "spawn")
      const child = (yield* env.receive()) as Process.Pid
      const childProc = kernel.lookup(child)!
      const lookalikes = [
        new Pid({ node: "elsewhere@host", id: parent.id, creation: parent.creation }),
        new Pid({ node: parent.node, id: parent.id, creation: parent.creation + 1 })
      ]
      for (const lookalike of lookalikes) {
        exitSignal(kernel, childProc, lookalike, Process.ExitReason.shutdown, false)
        assert.strictEqual(yield* env.receive(), `Exit ${lookalike} shutdown`, "handled as a message, the child lives on")
      }
      // The parent itself: gen_server's terminate with the parent's reason.
      exitSignal(kernel, childProc, parent, Process.ExitReason.shutdown, false)
      assert.strictEqual(yield* env.receive(), "terminate shutdown")
      assert.strictEqual((yield* env.exitReason(child))._tag, "shutdown")
    }))

  it.scoped("exit(pid, normal) ends only the process itself, not a lookalike of it from another node or incarnation", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const target = yield* env.spawn(Idle, undefined)
      const proc = kernel.lookup(target)!
      const lookalikes = [
        new Pid({ node: "elsewhere@host", id: target.id, creation: target.creation }),
        new Pid({ node: target.node, id: target.id, creation: target.creation + 1 })
      ]
      for (const lookalike of lookalikes) exitSignal(kernel, proc, lookalike, Process.ExitReason.normal, false)
      assert.strictEqual(kernel.lookup(target), proc, "a normal exit signal from another process is ignored")
      exitSignal(kernel, proc, target, Process.ExitReason.normal, false)
      assert.strictEqual((yield* env.exitReason(target))._tag, "normal")
    }))

  it.scoped("a node going down fires what crossed to it, with noconnection, and leaves what crossed to other nodes", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const trapper = yield* env.spawn(Trapper, env.probe)
      const proc = kernel.lookup(trapper)!
      yield* env.send(trapper, "watch")
      assert.strictEqual(yield* env.receive(), "watching")
      const [gone, stays] = [new Pid({ node: "gone@host", id: 7, creation: 1 }), new Pid({ node: "stays@host", id: 8, creation: 1 })]
      const refs = { watched: kernel.makeRef(), watchedToo: kernel.makeRef(), watcher: kernel.makeRef(), watcherToo: kernel.makeRef() }
      // The trapper monitors a process on each node, is monitored from each, and is linked to each.
      assert.isTrue(adoptRemoteMonitor(kernel, trapper, gone, refs.watched))
      assert.isTrue(adoptRemoteMonitor(kernel, trapper, stays, refs.watchedToo))
      assert.isTrue(remoteMonitor(kernel, gone, trapper, refs.watcher))
      assert.isTrue(remoteMonitor(kernel, stays, trapper, refs.watcherToo))
      assert.isTrue(remoteLink(kernel, gone, trapper))
      assert.isTrue(remoteLink(kernel, stays, trapper))
      nodeDown(kernel, "gone@host", "test")
      const told = [yield* env.receive(), yield* env.receive(), yield* env.receive()].sort()
      assert.deepStrictEqual(told, [`Down ${gone} noconnection`, `Exit ${gone} noconnection`, "NodeDown gone@host"])
      yield* env.expectNoMessage("20 millis")
      assert.deepStrictEqual([...proc.watching!.keys()], [refs.watchedToo.id], "the monitor of the lost node's process is gone")
      assert.deepStrictEqual([...proc.watchers!.keys()], [refs.watcherToo.id], "the lost node's monitor is forgotten")
      assert.deepStrictEqual([...proc.links!.keys()], [pidKey(stays)], "the lost node's link is gone")
    }))
})
