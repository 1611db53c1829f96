/**
 * The second half of the kernel's hot path (`src/Node/internal/kernel.ts`: spawn, send,
 * enqueue, exit), on what a user can observe. Written against the survivors of the mutation
 * run of part `core2` (issue 24): each test fails when the line it guards is broken.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Option, TestClock } from "effect"
import { Node, Process, Supervisor } from "../../src/index.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"
import { DEAD } from "../../src/Node/internal/proc.js"
import * as Testing from "../testing.js"
import { clockTimerCount, within } from "../Process/helpers.js"

/** Forwards every message to the probe; "hold" waits on the gate first. */
const Gated = Process.make({
  name: "Gated",
  init: (args: { readonly probe: Process.Pid; readonly gate: Deferred.Deferred<void> }) => Effect.succeed(args),
  handleMessage: (msg: string, s, ctx) =>
    msg === "hold" ? Effect.as(Deferred.await(s.gate), s) : Effect.as(ctx.send(s.probe, msg), s)
})

/** Polls `f` every 5 ms of real time until it holds, for at most 5 s. */
const until = (what: string, f: () => boolean) =>
  within(
    Effect.gen(function*() {
      while (!f()) yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
    }),
    what,
    5
  )

/**
 * A `Gated` process with a mailbox of 1, held in its handler with "a" queued, and a sender of
 * "lost" that waited in line for room and was interrupted.
 */
const senderInterrupted = Effect.gen(function*() {
  const env = yield* Testing.make()
  const gate = yield* Deferred.make<void>()
  const pid = yield* env.spawn(Gated, { probe: env.probe, gate }, { mailboxSize: 1 })
  const proc = kernelOf(env.node).lookup(pid)!
  yield* env.send(pid, "hold")
  yield* until("the process to take 'hold'", () => proc.mailboxLength() === 0)
  yield* env.send(pid, "a") // fills the mailbox
  const lost = yield* Effect.fork(env.send(pid, "lost"))
  yield* until("the sender to wait in line", () => proc.waiters?.length === 1)
  yield* Fiber.interrupt(lost)
  return { env, gate, pid, proc }
})

describe("senders waiting for room in a full mailbox", () => {
  it.scoped("an interrupted sender leaves the line: its message never arrives, the next sender's does, in order", () =>
    Effect.gen(function*() {
      const { env, gate, pid, proc } = yield* senderInterrupted
      assert.strictEqual(proc.waiters?.length ?? 0, 0, "the interrupted sender left the line")
      const next = yield* Effect.fork(env.send(pid, "b"))
      yield* until("the next sender to wait in line", () => proc.waiters?.length === 1)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(next)
      assert.strictEqual(yield* env.receive(), "a")
      assert.strictEqual(yield* env.receive(), "b", "the interrupted sender's message was not delivered")
      yield* env.expectNoMessage("20 millis")
    }))

  it.scoped("when the only waiting sender was interrupted, the process still takes its messages", () =>
    Effect.gen(function*() {
      const { env, gate, pid } = yield* senderInterrupted
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(yield* env.receive(), "a")
      yield* env.send(pid, "after")
      assert.strictEqual(yield* env.receive(), "after")
      yield* env.expectNoMessage("20 millis")
    }))
})

/** Traps exits, and holds `terminate` until its gate opens (reporting the reason first). */
const Stubborn = Process.make({
  name: "Stubborn",
  options: { trapExit: true },
  init: (args: { readonly probe: Process.Pid; readonly gate: Deferred.Deferred<void> }) => Effect.succeed(args),
  handleMessage: (_: string, s) => Effect.succeed(s),
  terminate: (reason, s, ctx) =>
    Effect.zipRight(Effect.orDie(ctx.send(s.probe, `terminating: ${Process.ExitReason.format(reason)}`)), Deferred.await(s.gate))
})

describe("exiting", () => {
  it.scoped("a second exit signal while terminate runs does not cut it short; kill does", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const gate = yield* Deferred.make<void>()
      const pid = yield* env.spawn(Stubborn, { probe: env.probe, gate })
      yield* env.node.exit(pid, Process.ExitReason.shutdown)
      assert.strictEqual(yield* env.receive(), "terminating: shutdown")
      yield* env.node.exit(pid, Process.ExitReason.error("another reason"))
      yield* env.expectNoMessage("20 millis")
      assert.isDefined(kernelOf(env.node).lookup(pid), "still running terminate")
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(Process.ExitReason.format(yield* env.exitReason(pid)), "shutdown")
      // kill during terminate ends it at once, with killed
      const gate2 = yield* Deferred.make<void>()
      const other = yield* env.spawn(Stubborn, { probe: env.probe, gate: gate2 })
      yield* env.node.exit(other, Process.ExitReason.shutdown)
      assert.strictEqual(yield* env.receive(), "terminating: shutdown")
      yield* env.node.exit(other, Process.ExitReason.kill)
      assert.strictEqual(Process.ExitReason.format(yield* env.exitReason(other)), "killed")
    }))

  it.scopedLive("a suspended child that traps exits still obeys its supervisor's shutdown at once", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("suspended@localhost", { log: { level: "None" } })
      const gate = yield* Deferred.make<void>()
      yield* Deferred.succeed(gate, undefined)
      const probe = yield* node.spawn(Process.make({ name: "Sink", init: () => Effect.void, handleMessage: () => Effect.void }), undefined)
      const sup = yield* Supervisor.start(
        node,
        Supervisor.oneForOne().pipe(
          // a minute to stop: only the parent-exit path ends it in time
          Supervisor.child({ id: "c", behaviour: Stubborn, args: { probe, gate }, shutdown: 60_000 })
        )
      )
      const [child] = yield* Supervisor.whichChildren(node, sup)
      const pid = child!.pid!
      yield* Process.suspend(pid)
      yield* node.exit(sup, Process.ExitReason.shutdown)
      yield* within(node.awaitExit(sup), "the supervisor to stop its suspended child", 5)
      assert.isUndefined(kernelOf(node).lookup(pid))
    }))

  it.scoped("linking to or monitoring a process that is running terminate is noproc at once, as for a dead one", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const gate = yield* Deferred.make<void>()
      const target = yield* env.spawn(Stubborn, { probe: env.probe, gate })
      yield* env.node.exit(target, Process.ExitReason.shutdown)
      assert.strictEqual(yield* env.receive(), "terminating: shutdown")
      /** Traps exits; links to or monitors `target` on demand and reports every Exit and Down. */
      const Watcher = Process.make({
        name: "Watcher",
        options: { trapExit: true },
        init: () => Effect.void,
        handleMessage: (msg: "link" | "monitor", s, ctx) =>
          Effect.as(msg === "link" ? ctx.link(target) : ctx.monitor(target), s),
        handleInfo: (info, s, ctx) =>
          Effect.as(
            Effect.orDie(ctx.send(env.probe, `${info._tag}: ${Process.ExitReason.format((info as { reason: Process.Reason }).reason)}`)),
            s
          )
      })
      const watcher = yield* env.spawn(Watcher, undefined)
      yield* env.send(watcher, "link")
      assert.strictEqual(yield* env.receive(), "Exit: noproc", "no link to a process that is exiting")
      yield* env.send(watcher, "monitor")
      assert.strictEqual(yield* env.receive(), "Down: noproc")
      // when it ends, nobody is told a second time
      yield* Deferred.succeed(gate, undefined)
      yield* env.exitReason(target)
      yield* env.expectNoMessage("20 millis")
    }))
})

/** Holds what a process can hold: an alias, an idle timeout, a watch on every node, a name. */
const Holder = Process.make({
  name: "Holder",
  init: (probe: Process.Pid) => Effect.succeed(probe),
  handleMessage: (msg: "hold" | "register twice" | "busy", probe, ctx) =>
    Effect.gen(function*() {
      if (msg === "hold") {
        const alias = yield* ctx.alias()
        yield* ctx.monitorNode("*")
        yield* ctx.setTimeout("1 second")
        yield* Effect.orDie(ctx.send(probe, alias))
      } else if (msg === "register twice") {
        yield* Effect.orDie(ctx.register("holder"))
        yield* Effect.orDie(ctx.register("holder"))
        yield* Effect.orDie(ctx.send(probe, "registered"))
      } else {
        yield* Effect.orDie(ctx.send(probe, "busy"))
        yield* Effect.never
      }
      return probe
    })
})

describe("what a dead process leaves behind", () => {
  it.scoped("nothing: its alias, idle timeout and node watch go with it", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const pid = yield* env.spawn(Holder, env.probe)
      yield* env.send(pid, "hold")
      yield* env.receive()
      assert.strictEqual(kernel.aliases.size, 1)
      assert.strictEqual(kernel.nodeWatchers.get("*")?.size, 1)
      assert.strictEqual(clockTimerCount(env.node), 1, "the idle timeout is armed")
      yield* env.node.exit(pid, Process.ExitReason.kill)
      yield* env.exitReason(pid)
      assert.strictEqual(kernel.aliases.size, 0, "the alias is gone")
      assert.strictEqual(kernel.nodeWatchers.get("*")?.size ?? 0, 0, "the node watch is gone")
      assert.strictEqual(clockTimerCount(env.node), 0, "the idle timeout is cancelled")
    }))

  it.scoped("a suspend waiting for a busy process that dies ends at once with noproc", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Holder, env.probe)
      yield* env.send(pid, "busy")
      assert.strictEqual(yield* env.receive(), "busy")
      const suspending = yield* Effect.fork(Effect.flip(Process.suspend(pid)))
      yield* Effect.yieldNow()
      yield* env.node.exit(pid, Process.ExitReason.kill)
      const error = yield* within(Fiber.join(suspending), "the suspend to end when its process died", 5)
      assert.strictEqual(error.reason, "noproc")
    }))

  it.scoped("registering the name a process already has is no error", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Holder, env.probe)
      yield* env.send(pid, "register twice")
      assert.strictEqual(yield* env.receive(), "registered")
      assert.strictEqual(kernelOf(env.node).lookup("holder"), kernelOf(env.node).lookup(pid))
    }))
})

describe("a spawner that dies while its linked child runs init", () => {
  for (const trapExit of [false, true]) {
    it.scopedLive(`gives the child its exit signal once init is done, as OTP's link before init does (child ${trapExit ? "traps exits" : "does not trap"})`, () =>
      Effect.gen(function*() {
        const env = yield* Testing.make()
        const gate = yield* Deferred.make<void>()
        yield* Effect.addFinalizer(() => Deferred.succeed(gate, undefined))
        const Child = Process.make({
          name: "Child",
          options: { trapExit },
          init: (probe: Process.Pid) => Effect.as(Deferred.await(gate), probe),
          terminate: (reason, probe, ctx) => Effect.ignore(ctx.send(probe, `terminate ${Process.ExitReason.format(reason)}`))
        })
        const Spawner = Process.make({
          name: "Spawner",
          init: () => Effect.void,
          handleMessage: (_: "go", s, ctx) => Effect.as(Effect.orDie(ctx.spawnLink(Child, env.probe, { name: "child" })), s)
        })
        const spawner = yield* env.spawn(Spawner, undefined)
        yield* env.send(spawner, "go")
        const child = yield* until("the child to start its init", () => kernelOf(env.node).names.has("child")).pipe(
          Effect.zipRight(Effect.map(env.node.whereis("child"), (found) => found._tag === "Some" ? found.value : undefined))
        )
        assert.isDefined(child)
        yield* env.node.exit(spawner, Process.ExitReason.error("spawner broke"))
        yield* env.exitReason(spawner)
        yield* Deferred.succeed(gate, undefined)
        // Trapping or not, the spawner's reason ends it, through terminate (its parent's exit, or a link's).
        assert.strictEqual(yield* env.receive(), "terminate error: Error: spawner broke")
        assert.strictEqual((yield* env.exitReason(child!))._tag, "error")
      }))
  }
})

describe("a behaviour written in plain JavaScript that returns a value instead of an Effect", () => {
  const Sloppy = (where: "init" | "handler" | "terminate") =>
    Process.make({
      name: "Sloppy",
      init: (() => (where === "init" ? 0 : Effect.succeed(0))) as unknown as () => Effect.Effect<number>,
      handleMessage: ((_: string, n: number) => (where === "handler" ? n : Effect.succeed(n))) as unknown as (
        m: string,
        n: number
      ) => Effect.Effect<number>,
      terminate: (() => (where === "terminate" ? undefined : Effect.void)) as unknown as () => Effect.Effect<void>
    })

  it.scoped("init: the spawn fails with InitFailed saying what init returned", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const error = yield* Effect.flip(env.spawn(Sloppy("init"), undefined))
      assert.strictEqual(error._tag, "InitFailed")
      assert.include(error.message, "init returned number instead of an Effect")
    }))

  it.scoped("a handler: the process exits with an error saying so; the node goes on", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Sloppy("handler"), undefined)
      yield* env.send(pid, "hello")
      const reason = yield* env.exitReason(pid)
      assert.strictEqual(reason._tag, "error")
      assert.include(Process.ExitReason.format(reason), "handler returned number instead of an Effect")
      const again = yield* env.spawn(Sloppy("terminate"), undefined)
      assert.isTrue((yield* env.node.info(again))._tag === "Some")
    }))

  it.scoped("terminate: the process ends with an error saying so, as with a terminate that fails", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Sloppy("terminate"), undefined)
      yield* env.node.exit(pid, Process.ExitReason.shutdown)
      const reason = yield* env.exitReason(pid)
      assert.include(Process.ExitReason.format(reason), "terminate returned undefined instead of an Effect")
      assert.strictEqual(kernelOf(env.node).lookup(pid), undefined)
    }))
})

describe("a process that kills itself in a handler", () => {
  /** On a message, kills itself, then (after a sleep, or at once) tells `to` "after"; more messages may queue behind. */
  const Suicidal = Process.make({
    name: "Suicidal",
    init: (to: Process.Pid) => Effect.succeed(to),
    handleMessage: (how: "then sleep" | "then return" | "more", to, ctx) =>
      how === "more"
        ? Effect.as(ctx.send(to, "handled more"), to)
        : Effect.gen(function*() {
          yield* ctx.exit(ctx.self, Process.ExitReason.kill)
          if (how === "then sleep") yield* Effect.sleep("10 millis")
          yield* ctx.send(to, "after")
          return to
        })
  })

  for (const how of ["then sleep", "then return", "through the node, then sleep", "through the node, then return"] as const) {
    it.scoped(`ends at once, ${how}: nothing after the kill runs, no later message is handled`, () =>
      Effect.gen(function*() {
        const env = yield* Testing.make()
        // through the node's own exit (no ctx): the handler's fiber is stopped when it suspends
        const ByTheNode = Process.make({
          name: "ByTheNode",
          init: (to: Process.Pid) => Effect.succeed(to),
          handleMessage: (message: "then sleep" | "then return" | "more", to, ctx) =>
            message === "more"
              ? Effect.as(ctx.send(to, "handled more"), to)
              : Effect.gen(function*() {
                yield* env.node.exit(ctx.self, Process.ExitReason.kill)
                if (message === "then sleep") yield* Effect.sleep("10 millis")
                yield* ctx.send(to, "after")
                return to
              })
        })
        const byTheNode = how.startsWith("through the node")
        const pid = byTheNode ? yield* env.spawn(ByTheNode, env.probe) : yield* env.spawn(Suicidal, env.probe)
        const proc = kernelOf(env.node).lookup(pid)!
        yield* env.send(pid, how === "through the node, then sleep" ? "then sleep" : how === "through the node, then return" ? "then return" : how)
        yield* env.send(pid, "more")
        assert.strictEqual((yield* env.exitReason(pid))._tag, "killed")
        yield* TestClock.adjust("20 millis")
        yield* env.expectNoMessage("20 millis")
        assert.strictEqual(kernelOf(env.node).lookup(pid), undefined)
        assert.strictEqual(proc.status, DEAD, "its record stays dead (not rescheduled by its handler's end)")
        // the node goes on
        const next = yield* env.spawn(Suicidal, env.probe)
        yield* env.send(next, "more")
        assert.strictEqual(yield* env.receive(), "handled more")
      }))
  }
})

describe("the kernel's edges", () => {
  it.scoped("node.stop ends processes that end at once (no terminate) and completes", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Plain = Process.make({ name: "Plain", init: () => Effect.void })
      const pids = [yield* env.spawn(Plain, undefined), yield* env.spawn(Plain, undefined)]
      const stopped = yield* Effect.exit(env.node.stop)
      assert.isTrue(Exit.isSuccess(stopped), String(stopped))
      for (const pid of pids) assert.isUndefined(kernelOf(env.node).lookup(pid))
    }))

  it("kernelOf refuses what is not a node service", () => {
    assert.throws(() => kernelOf({}), /not a node service made by Node.start/)
  })

  it.scoped("a process running terminate cannot take a name", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const Late = Process.make({
        name: "Late",
        init: (to: Process.Pid) => Effect.succeed(to),
        terminate: (_reason, to, ctx) =>
          Effect.zipRight(
            Effect.either(ctx.register("late")),
            Effect.flatMap(env.node.whereis("late"), (found) => Effect.orDie(ctx.send(to, Option.isSome(found))))
          )
      })
      const pid = yield* env.spawn(Late, env.probe)
      yield* env.node.exit(pid, Process.ExitReason.shutdown)
      assert.isFalse(yield* env.receive(), "not registered, even while terminate runs")
      yield* env.exitReason(pid)
      assert.isTrue(Option.isNone(yield* env.node.whereis("late")))
      assert.isFalse(kernelOf(env.node).names.has("late"))
    }))
})

describe("a process that kills itself in init", () => {
  for (
    const [by, then] of [["ctx", "returns"], ["ctx", "suspends"], ["node", "returns"], ["node", "suspends"]] as const
  ) {
    it.scoped(`its spawn fails with InitFailed (killed), once, when it kills itself through ${by}.exit and then ${then}; the node goes on`, () =>
      Effect.gen(function*() {
        const env = yield* Testing.make()
        const SelfKiller = Process.make({
          name: "SelfKiller",
          init: (_: undefined, ctx) =>
            Effect.as(
              Effect.zipRight(
                by === "ctx" ? ctx.exit(ctx.self, Process.ExitReason.kill) : env.node.exit(ctx.self, Process.ExitReason.kill),
                then === "suspends" ? Effect.sleep("1 millis") : Effect.void
              ),
              0
            )
        })
        const error = yield* Effect.flip(env.spawn(SelfKiller, undefined))
        assert.strictEqual(error._tag, "InitFailed")
        assert.include(error.message, "killed")
        const fine = yield* env.spawn(Process.make({ name: "Fine", init: () => Effect.void }), undefined)
        assert.isTrue(Option.isSome(yield* env.node.info(fine)))
      }))
  }
})
