/**
 * Calls and important sends (`src/Node/internal/calls.ts`) at their edges: what a call
 * leaves behind once answered or abandoned, the targets that fail at once, a timeout of
 * "infinity", the lane of an important send, and replies that belong to no call. Written
 * against the survivors of the mutation run of part `core3` (issue 24).
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Either, Option } from "effect"
import { Node, Process } from "../../src/index.js"
import { replyTo } from "../../src/Node/internal/calls.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"
import { From } from "../../src/Process/Message.js"
import { Pid, Reference } from "../../src/Process/Pid.js"
import * as Testing from "../testing.js"
import { clockTimerCount, Lingering, within } from "../Process/helpers.js"

/** Answers "echo" at once; holds "hold" unanswered (noReply). */
const Server = Process.make({
  name: "Server",
  init: () => Effect.void,
  handleCall: (q: "echo" | "hold", _from, s) => Effect.succeed(q === "echo" ? Process.reply("echo", s) : Process.noReply(s))
})

/** Calls `server` with what it is sent and tells `probe` the answer. */
const Caller = Process.make({
  name: "Caller",
  init: (args: { readonly probe: Process.Pid; readonly server: Process.Pid }) => Effect.succeed(args),
  handleMessage: (q: "echo" | "hold", s, ctx) =>
    Effect.flatMap(Effect.either(ctx.call(s.server, q)), (answer) => Effect.as(Effect.orDie(ctx.send(s.probe, answer)), s))
})


describe("what a call leaves behind", () => {
  it.scoped("nothing once answered: no pending entry, no timer, no count on either side", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const server = yield* env.spawn(Server, undefined)
      const caller = yield* env.spawn(Caller, { probe: env.probe, server })
      yield* env.send(caller, "echo")
      const answer = (yield* env.receive()) as Either.Either<string, unknown>
      assert.isTrue(Either.isRight(answer) && answer.right === "echo", `answered: ${String(answer)}`)
      assert.strictEqual(kernel.pending.size, 0)
      assert.strictEqual(kernel.lookup(caller)!.outstanding, 0)
      assert.strictEqual(kernel.lookup(server)!.callers, 0)
      assert.strictEqual(clockTimerCount(env.node), 0, "the call's timeout is cancelled")
    }))

  it.scoped("nothing when the caller dies waiting: the callee is not left counting it", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const server = yield* env.spawn(Server, undefined)
      const caller = yield* env.spawn(Caller, { probe: env.probe, server })
      yield* env.send(caller, "hold")
      const callerProc = kernel.lookup(caller)!
      yield* within(
        Effect.repeat(Effect.sync(() => callerProc.outstanding), { until: (n) => n === 1 }),
        "the call to be made",
        5
      )
      assert.strictEqual(kernel.lookup(server)!.callers, 1)
      yield* env.node.exit(caller, Process.ExitReason.kill)
      yield* env.exitReason(caller)
      assert.strictEqual(kernel.pending.size, 0)
      assert.strictEqual(kernel.lookup(server)!.callers, 0)
      assert.strictEqual(clockTimerCount(env.node), 0)
    }))
})

describe("calls and important sends that fail at once", () => {
  it.scoped("to a process running terminate: ProcessUnknown, as for a dead one", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const gate = yield* Deferred.make<void>()
      yield* Effect.addFinalizer(() => Deferred.succeed(gate, undefined))
      const pid = yield* env.spawn(Lingering, { probe: env.probe, gate })
      yield* env.node.exit(pid, Process.ExitReason.shutdown)
      assert.strictEqual(yield* env.receive(), "exiting")
      assert.strictEqual((yield* Effect.flip(env.node.call(pid, "echo")))._tag, "ProcessUnknown")
      assert.strictEqual((yield* Effect.flip(env.node.sendImportant(pid as Process.Pid, "x")))._tag, "ProcessUnknown")
      assert.strictEqual(kernelOf(env.node).pending.size, 0)
    }))

  it.scoped("to a full mailbox: MailboxFull, for a call and an important send alike", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Server, undefined, { mailboxSize: 1 })
      yield* Process.suspend(pid)
      yield* env.send(pid as Process.Pid, "first")
      assert.strictEqual((yield* Effect.flip(env.node.call(pid, "echo")))._tag, "MailboxFull")
      assert.strictEqual((yield* Effect.flip(env.node.sendImportant(pid as Process.Pid, "x")))._tag, "MailboxFull")
      assert.strictEqual(kernelOf(env.node).pending.size, 0)
    }))

  it.scoped("to another node, on a node without distribution: NoConnection", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const far = new Pid({ node: "elsewhere@host", id: 1, creation: 1 })
      const call = yield* Effect.flip(env.node.call(far, "echo"))
      assert.strictEqual(call._tag, "NoConnection")
      const important = yield* Effect.flip(env.node.sendImportant(far, "x"))
      assert.strictEqual(important._tag, "NoConnection")
    }))
})

describe("the rest of a call's edges", () => {
  it.live("a call with timeout \"infinity\" sets no limit (live clock)", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* Node.start("patient@localhost")
      const Slow = Process.make({
        name: "Slow",
        init: () => Effect.void,
        handleCall: (_: "echo", _from, s) => Effect.as(Effect.sleep("50 millis"), Process.reply("echo", s))
      })
      const pid = yield* node.spawn(Slow, undefined)
      assert.strictEqual(yield* within(node.call(pid, "echo", "infinity"), "the slow call", 5), "echo")
    })))

  it.scoped("an important send without a priority lands in the main lane", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pid = yield* env.spawn(Server, undefined)
      yield* Process.suspend(pid)
      yield* env.node.sendImportant(pid as Process.Pid, "x")
      const info = Option.getOrThrow(yield* env.node.info(pid))
      assert.deepStrictEqual(info.mailbox, { urgent: 0, system: 0, main: 1, log: 0 })
    }))

  it.scoped("a reply to a reference of another incarnation of this node, or to no call, is dropped", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const ref = kernel.makeRef()
      const stale = new Reference({ node: ref.node, id: ref.id, creation: ref.creation + 1 })
      const from = (r: Reference) => new From({ to: env.probe, ref: r })
      replyTo(kernel, from(stale), { _tag: "Success", value: "late" } as never)
      replyTo(kernel, from(ref), { _tag: "Success", value: "late" } as never)
      yield* env.expectNoMessage("20 millis")
      assert.strictEqual(kernel.pending.size, 0)
    }))
})
