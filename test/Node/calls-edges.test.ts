/**
 * Calls and important sends (`src/Node/internal/calls.ts`) at their edges: what a call
 * leaves behind once answered or abandoned, the targets that fail at once, which calls a
 * death fails and which it leaves alone, a timeout of "infinity", an interrupted outside
 * caller, the reply address, the lanes of an important send, counters, replies that belong to
 * no call, and the helpers the hot path uses (`requestType`, `quickError`). Written against
 * the survivors of the mutation runs of parts `core2` and `core3` (issue 24).
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Either, Exit, Fiber, Option, Schema } from "effect"
import { Process } from "../../src/index.js"
import { acknowledge, quickError, replyTo, requestType } from "../../src/Node/internal/calls.js"
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

/** Holds every call it gets ("ask") until told "reply", then answers each with "answer". */
const Holder = Process.make({
  name: "Holder",
  init: (got: Deferred.Deferred<void>) => Effect.succeed({ got, held: [] as Array<Process.From> }),
  handleCall: (_: "ask", from, s) =>
    Effect.as(Deferred.succeed(s.got, undefined), Process.noReply({ got: s.got, held: [...s.held, from] })),
  handleMessage: (_: "reply", s, ctx) =>
    Effect.as(Effect.forEach(s.held, (from) => ctx.reply(from, "answer"), { discard: true }), { got: s.got, held: [] })
})

/** On any message, calls `target` and tells `to` how the call ended. */
const Asker = Process.make({
  name: "Asker",
  init: (args: { readonly target: Process.Pid; readonly to: Process.Pid }) => Effect.succeed(args),
  handleMessage: (_: "go", s, ctx) =>
    Effect.as(
      Effect.flatMap(Effect.exit(ctx.call(s.target as Process.Ref<unknown, "ask" | "who">, "ask")), (exit) => ctx.send(s.to, exit)),
      s
    )
})

/** Answers a call with the reply address's process. */
const WhoCalls = Process.make({
  name: "WhoCalls",
  init: () => Effect.succeed(undefined),
  handleCall: (_: "ask", from, s) => Effect.succeed(Process.reply(from.to.toString(), s))
})

/** Tells `to` what it handles; after its first message it waits until `release` completes. */
const Blocked = Process.make({
  name: "Blocked",
  init: (args: { readonly release: Deferred.Deferred<void>; readonly to: Process.Pid }) => Effect.succeed(args),
  handleMessage: (message: string, s, ctx) =>
    Effect.as(
      Effect.zipRight(ctx.send(s.to, message), message === "first" ? Deferred.await(s.release) : Effect.void),
      s
    )
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

  it.scoped("a reply or a receipt for another incarnation's reference with the id of a waiting call leaves that call alone", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const got = yield* Deferred.make<void>()
      const holder = yield* env.spawn(Holder, got)
      const call = yield* Effect.fork(env.node.call(holder, "ask" as const, "2 seconds"))
      yield* Deferred.await(got)
      const [id, entry] = Array.from(kernel.pending)[0]!
      entry.acked = false // as a remote important call is until its receipt
      const stale = new Reference({ node: kernel.name, id, creation: kernel.creation + 1 })
      replyTo(kernel, new From({ to: env.probe, ref: stale }), Exit.succeed("from another incarnation"))
      acknowledge(kernel, stale)
      assert.strictEqual(call.unsafePoll(), null, "still waiting")
      assert.isFalse(entry.acked)
      // a receipt for no call at all is dropped
      acknowledge(kernel, kernel.makeRef())
      acknowledge(kernel, new Reference({ node: kernel.name, id, creation: kernel.creation }))
      assert.isTrue(entry.acked, "its own receipt counts")
      yield* env.send(holder, "reply")
      assert.strictEqual(yield* Fiber.join(call), "answer")
    }))
})

describe("which calls a death fails", () => {
  it.scoped("a caller that dies drops its own call only: another caller of the same process still gets its reply", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const got = yield* Deferred.make<void>()
      const holder = yield* env.spawn(Holder, got)
      const a = yield* env.spawn(Asker, { target: holder, to: env.probe })
      const b = yield* env.spawn(Asker, { target: holder, to: env.probe })
      yield* env.send(a, "go")
      yield* env.send(b, "go")
      const kernel = kernelOf(env.node)
      while (kernel.lookup(holder)!.callers < 2) yield* Effect.yieldNow()
      yield* env.node.exit(a, Process.ExitReason.kill)
      assert.strictEqual(kernel.lookup(holder)!.callers, 1, "a's call is dropped with a")
      yield* env.send(holder, "reply")
      const exit = (yield* env.receive("2 seconds")) as Exit.Exit<string>
      assert.deepStrictEqual(exit, Exit.succeed("answer"), "b's call is answered")
      yield* env.expectNoMessage("20 millis")
    }))

  it.scoped("a callee that dies fails the calls to it only: a call to another process still gets its reply", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const got1 = yield* Deferred.make<void>()
      const got2 = yield* Deferred.make<void>()
      const s1 = yield* env.spawn(Holder, got1)
      const s2 = yield* env.spawn(Holder, got2)
      const toS1 = yield* Effect.fork(env.node.call(s1, "ask" as const, "2 seconds"))
      const toS2 = yield* Effect.fork(env.node.call(s2, "ask" as const, "2 seconds"))
      yield* Deferred.await(got1)
      yield* Deferred.await(got2)
      yield* env.node.exit(s2, Process.ExitReason.kill)
      const failed = yield* Effect.flip(Fiber.join(toS2))
      assert.include(failed, { _tag: "ProcessExited", target: s2.toString() })
      yield* env.send(s1, "reply")
      assert.strictEqual(yield* Fiber.join(toS1), "answer")
    }))
})

describe("call timeouts", () => {
  it.scopedLive("an infinite timeout on the live clock waits for the reply, however late", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const got = yield* Deferred.make<void>()
      const holder = yield* env.spawn(Holder, got)
      const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length
      const before = timeouts()
      const call = yield* Effect.fork(env.node.call(holder, "ask" as const, "infinity"))
      yield* Deferred.await(got)
      assert.strictEqual(timeouts(), before, "no timer for a call without a timeout")
      yield* Effect.sleep("30 millis")
      yield* env.send(holder, "reply")
      assert.strictEqual(yield* Fiber.join(call).pipe(Effect.timeout("2 seconds")), "answer")
    }))

  it.scoped("an outside caller interrupted while it waits without a timeout leaves nothing pending", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const got = yield* Deferred.make<void>()
      const holder = yield* env.spawn(Holder, got)
      const before = kernel.pending.size
      const call = yield* Effect.fork(env.node.call(holder, "ask" as const, "infinity"))
      yield* Deferred.await(got)
      assert.strictEqual(kernel.pending.size, before + 1)
      yield* Fiber.interrupt(call)
      assert.strictEqual(kernel.pending.size, before, "the interrupted call is forgotten")
      assert.strictEqual(kernel.lookup(holder)!.callers, 0)
    }))
})

describe("what a call carries and counts", () => {
  it.scoped("the reply address names the calling process (as gen_server's From)", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const who = yield* env.spawn(WhoCalls, undefined)
      const caller = yield* env.spawn(Asker, { target: who, to: env.probe })
      yield* env.send(caller, "go")
      assert.deepStrictEqual(yield* env.receive("2 seconds"), Exit.succeed(caller.toString()))
    }))

  it.scoped("a call from a process counts as its output and the node's", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const who = yield* env.spawn(WhoCalls, undefined)
      const caller = yield* env.spawn(Asker, { target: who, to: env.probe })
      const before = (yield* env.node.metrics).messagesOut
      yield* env.send(caller, "go")
      yield* env.receive("2 seconds")
      const info = (yield* env.node.info(caller)).pipe((o) => (o._tag === "Some" ? o.value : assert.fail("no info")))
      assert.strictEqual(info.messagesOut, 2, "the call and the send to the probe")
      assert.strictEqual((yield* env.node.metrics).messagesOut, before + 2)
    }))

  it.scoped("an important send asks for the lane it names on this node too", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const release = yield* Deferred.make<void>()
      const blocked = yield* env.spawn(Blocked, { release, to: env.probe })
      yield* env.send(blocked, "first")
      assert.strictEqual(yield* env.receive("2 seconds"), "first")
      yield* env.node.sendImportant(blocked, "normal")
      yield* env.node.sendImportant(blocked, "urgent", { priority: "urgent" })
      yield* Deferred.succeed(release, undefined)
      const order = [yield* env.receive("2 seconds"), yield* env.receive("2 seconds")]
      assert.deepStrictEqual(order, ["urgent", "normal"], "the urgent lane first")
    }))
})

class Tagged extends Schema.TaggedClass<Tagged>()("Tagged", {}) {}
class Plain {}

describe("the hot path's helpers", () => {
  it("requestType names a request by its _tag, else its class, else its JavaScript type", () => {
    assert.strictEqual(requestType(new Tagged()), "Tagged")
    assert.strictEqual(requestType({ _tag: "ByHand" }), "ByHand")
    assert.strictEqual(requestType({ _tag: 7 }), "Object")
    assert.strictEqual(requestType(new Plain()), "Plain")
    assert.strictEqual(requestType(Object.create(null)), "Object")
    assert.strictEqual(requestType(null), "object")
    assert.strictEqual(requestType(42), "number")
    assert.strictEqual(requestType("ask"), "string")
  })

  it("quickError builds its error without a stack and puts the stack limit back, also when building throws", () => {
    // a known limit, not whatever an earlier test left (modules and globals are shared in the mutation suite)
    const original = Error.stackTraceLimit
    Error.stackTraceLimit = 17
    try {
      const error = quickError(() => new Error("no stack"))
      assert.strictEqual(error.message, "no stack")
      assert.notInclude(error.stack ?? "", "calls-edges")
      assert.strictEqual(Error.stackTraceLimit, 17)
      assert.throws(() =>
        quickError(() => {
          throw new Error("thrown")
        })
      )
      assert.strictEqual(Error.stackTraceLimit, 17)
    } finally {
      Error.stackTraceLimit = original
    }
  })
})
