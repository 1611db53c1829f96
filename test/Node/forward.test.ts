/**
 * Forwarding (`src/Node/internal/forward.ts`), what pools and routers stand on, at its edges:
 * which workers count as alive, busy or full, a forward's bookkeeping (the forwarder's output,
 * the caller's pending call moved to the worker), waiting for room, and why a forward was
 * refused. Written against the survivors of the mutation run of part `rest` (issue 24).
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Option } from "effect"
import { Process } from "../../src/index.js"
import { makeFrom } from "../../src/Node/internal/calls.js"
import { depth, forward, FULL, isAlive, isFull, PLACED, procOf, refusal, whenRoom } from "../../src/Node/internal/forward.js"
import type { PendingCall } from "../../src/Node/internal/calls.js"
import type { Kernel } from "../../src/Node/internal/kernel.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"
import type { Proc } from "../../src/Node/internal/proc.js"
import type { From } from "../../src/Process/Message.js"
import { Pid, Reference, unsafeMake } from "../../src/Process/Pid.js"
import * as Testing from "../testing.js"

interface WorkerArgs {
  readonly to: Process.Pid
  readonly gate: Deferred.Deferred<void>
  readonly stopping?: Deferred.Deferred<void>
  readonly block?: Deferred.Deferred<void>
}

/** Tells `to` what it gets; "hold" waits for the gate, "block" for `block`; its terminate waits for `stopping` when given. */
const Worker = Process.make({
  name: "Worker",
  init: (args: WorkerArgs) => Effect.succeed(args),
  handleMessage: (message: string, s, ctx) =>
    Effect.as(
      Effect.zipRight(
        ctx.send(s.to, message),
        message === "hold" ? Deferred.await(s.gate) : message === "block" && s.block ? Deferred.await(s.block) : Effect.void
      ),
      s
    ),
  handleCall: (request: string, _from, s) => Effect.succeed(Process.reply(`answered ${request}`, s)),
  terminate: (_reason, s) => (s.stopping === undefined ? Effect.void : Deferred.await(s.stopping))
})

/** The reply address of a call waiting in the kernel's pending table under `refId` (as the forwarder's handler holds it). */
const replyAddress = (kernel: Kernel, refId: number, entry: PendingCall): From =>
  makeFrom(entry.to as Process.Pid, unsafeMake(Reference, kernel.name, refId, kernel.creation))

/** The calls waiting on `proc`, oldest first. */
const waitingOn = (kernel: Kernel, proc: Proc) => Array.from(kernel.pending).filter(([, entry]) => entry.target === proc)

/** The tag of the error a call ended with. */
const failureTag = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? (exit.cause.error as { _tag?: string })._tag : String(exit)

const setup = Effect.gen(function*() {
  const env = yield* Testing.make()
  const kernel = kernelOf(env.node)
  const gate = yield* Deferred.make<void>()
  // a test that fails midway must not leave its processes waiting for the node's stop
  yield* Effect.addFinalizer(() => Deferred.succeed(gate, undefined))
  const forwarder = yield* env.spawn(Worker, { to: env.probe, gate })
  return { env, kernel, gate, forwarder, self: kernel.lookup(forwarder)! }
})

describe("which workers are alive, busy, full", () => {
  it.scoped("a live worker is alive; a dead one or one running terminate is not; one on another node is taken as alive", () =>
    Effect.gen(function*() {
      const { env, kernel, gate } = yield* setup
      const stopping = yield* Deferred.make<void>()
      yield* Effect.addFinalizer(() => Deferred.succeed(stopping, undefined))
      const live = yield* env.spawn(Worker, { to: env.probe, gate })
      const ending = yield* env.spawn(Worker, { to: env.probe, gate, stopping })
      const dead = yield* env.spawn(Worker, { to: env.probe, gate })
      yield* env.node.exit(dead, Process.ExitReason.kill)
      yield* env.node.exit(ending, Process.ExitReason.shutdown)
      const far = new Pid({ node: "far@localhost", id: 1, creation: 1 })
      assert.deepStrictEqual([live, ending, dead, far].map((p) => isAlive(kernel, p)), [true, false, false, true])
      // what least-busy compares: queued messages, plus one while a handler runs; gone is as busy as can be
      assert.deepStrictEqual([depth(kernel, live), depth(kernel, ending), depth(kernel, dead), depth(kernel, far)], [0, Infinity, Infinity, 0])
      yield* env.send(live, "hold")
      assert.strictEqual(yield* env.receive(), "hold")
      yield* env.send(live, "one")
      yield* env.send(live, "two")
      assert.strictEqual(depth(kernel, live), 3, "two queued and one running")
      assert.deepStrictEqual([isFull(kernel, live), isFull(kernel, ending), isFull(kernel, dead), isFull(kernel, far)], [false, true, true, false])
      assert.strictEqual(refusal(kernel, dead)._tag, "ProcessUnknown")
      assert.strictEqual(refusal(kernel, ending)._tag, "ProcessUnknown")
      // nothing is handed to a worker running terminate: neither placed nor waited for
      const { proc: self } = procOf(live)
      assert.strictEqual(forward(kernel, self, ending, "late", undefined), FULL)
      const outcomes: Array<boolean> = []
      whenRoom(kernel, self, ending, "late", undefined, (placed) => outcomes.push(placed))
      assert.deepStrictEqual(outcomes, [false], "told at once")
      yield* Deferred.succeed(stopping, undefined)
      yield* Deferred.succeed(gate, undefined)
    }))

  it.scoped("a bounded worker is full at its bound, and the refusal says MailboxFull", () =>
    Effect.gen(function*() {
      const { env, kernel, gate } = yield* setup
      const bounded = yield* env.spawn(Worker, { to: env.probe, gate }, { mailboxSize: 2 })
      yield* env.send(bounded, "hold")
      assert.strictEqual(yield* env.receive(), "hold")
      yield* env.send(bounded, "one")
      assert.isFalse(isFull(kernel, bounded))
      yield* env.send(bounded, "two")
      assert.isTrue(isFull(kernel, bounded))
      assert.strictEqual(refusal(kernel, bounded)._tag, "MailboxFull")
      yield* Deferred.succeed(gate, undefined)
    }))

  it.scoped("procOf finds a live local process, and says so when there is none", () =>
    Effect.gen(function*() {
      const { env, forwarder, kernel } = yield* setup
      assert.strictEqual(procOf(forwarder).proc, kernel.lookup(forwarder))
      const dead = yield* env.spawn(Worker, { to: env.probe, gate: yield* Deferred.make<void>() })
      yield* env.node.exit(dead, Process.ExitReason.kill)
      assert.throws(() => procOf(dead), /not a live local process/)
      assert.throws(() => procOf(new Pid({ node: "nowhere@localhost", id: 1, creation: 1 })), /not a live local process/)
    }))
})

describe("a forward's bookkeeping", () => {
  it.scoped("a message placed counts as the forwarder's output and the node's; one to a worker that is gone or full is refused", () =>
    Effect.gen(function*() {
      const { env, kernel, gate, self } = yield* setup
      const worker = yield* env.spawn(Worker, { to: env.probe, gate }, { mailboxSize: 1 })
      const before = { mine: self.messagesOut, node: kernel.totalOut }
      assert.strictEqual(forward(kernel, self, worker, "hold", undefined), PLACED)
      assert.strictEqual(yield* env.receive(), "hold")
      // the node's output: the forward, and the worker's own send to the probe
      const workerOut = kernel.lookup(worker)!.messagesOut
      assert.deepStrictEqual([self.messagesOut, kernel.totalOut], [before.mine + 1, before.node + 1 + workerOut])
      assert.strictEqual(forward(kernel, self, worker, "queued", undefined), PLACED)
      assert.strictEqual(forward(kernel, self, worker, "no room", undefined), FULL)
      assert.deepStrictEqual([self.messagesOut, kernel.totalOut], [before.mine + 2, before.node + 2 + workerOut], "a refusal is not output")
      yield* env.node.exit(worker, Process.ExitReason.kill)
      assert.strictEqual(forward(kernel, self, worker, "to the dead", undefined), FULL)
      assert.strictEqual(forward(kernel, self, "nobody", "to no name", undefined), FULL)
      const far = new Pid({ node: "far@localhost", id: 1, creation: 1 })
      assert.strictEqual(forward(kernel, self, far, "no network", undefined), FULL, "another node, without distribution")
      yield* Deferred.succeed(gate, undefined)
    }))

  it.scoped("a forwarded call waits on the worker: the worker answers, and the forwarder no longer counts the caller", () =>
    Effect.gen(function*() {
      const { env, kernel, gate, forwarder, self } = yield* setup
      const worker = yield* env.spawn(Worker, { to: env.probe, gate })
      // hold the forwarder in a handler, so that the call waits in its mailbox
      yield* env.send(forwarder, "hold")
      assert.strictEqual(yield* env.receive(), "hold")
      const call = yield* Effect.fork(env.node.call(forwarder as Process.Ref<string, string>, "question", "5 seconds"))
      yield* Effect.yieldNow()
      const [[refId, entry]] = waitingOn(kernel, self)
      assert.strictEqual(self.callers, 1)
      assert.strictEqual(forward(kernel, self, worker, "question", replyAddress(kernel, refId!, entry!)), PLACED)
      assert.strictEqual(self.callers, 0, "the forwarder no longer counts it")
      assert.strictEqual(kernel.pending.get(refId)!.target, kernel.lookup(worker))
      assert.strictEqual(yield* Fiber.join(call), "answered question")
      yield* Deferred.succeed(gate, undefined)
    }))

  it.scoped("a forwarded call whose worker dies fails at once with ProcessExited; one not handed off stays with the forwarder", () =>
    Effect.gen(function*() {
      const { env, kernel, gate, forwarder, self } = yield* setup
      const worker = yield* env.spawn(Worker, { to: env.probe, gate })
      yield* env.send(worker, "hold")
      assert.strictEqual(yield* env.receive(), "hold")
      yield* env.send(forwarder, "hold")
      assert.strictEqual(yield* env.receive(), "hold")
      const calls = [
        yield* Effect.fork(env.node.call(forwarder as Process.Ref<string, string>, "handed", "5 seconds")),
        yield* Effect.fork(env.node.call(forwarder as Process.Ref<string, string>, "kept", "5 seconds"))
      ]
      yield* Effect.yieldNow()
      const entries = waitingOn(kernel, self)
      assert.strictEqual(entries.length, 2)
      entries.forEach(([refId, entry], i) =>
        forward(kernel, self, worker, i === 0 ? "handed" : "kept", replyAddress(kernel, refId, entry), i === 0)
      )
      assert.strictEqual(self.callers, 1, "the one not handed off")
      yield* env.node.exit(worker, Process.ExitReason.kill)
      assert.strictEqual(failureTag(yield* Fiber.await(calls[0]!)), "ProcessExited")
      assert.strictEqual(calls[1]!.unsafePoll(), null, "still waiting on the forwarder")
      yield* env.node.exit(forwarder, Process.ExitReason.kill)
      assert.strictEqual(failureTag(yield* Fiber.await(calls[1]!)), "ProcessExited")
      yield* Deferred.succeed(gate, undefined)
    }))

  it.scoped("a reply address of another incarnation of this node, or of a call to another process, is left alone", () =>
    Effect.gen(function*() {
      const { env, kernel, gate, forwarder, self } = yield* setup
      const worker = yield* env.spawn(Worker, { to: env.probe, gate })
      const other = yield* env.spawn(Worker, { to: env.probe, gate })
      yield* env.send(forwarder, "hold")
      assert.strictEqual(yield* env.receive(), "hold")
      yield* env.send(other, "hold")
      assert.strictEqual(yield* env.receive(), "hold")
      const toSelf = yield* Effect.fork(env.node.call(forwarder as Process.Ref<string, string>, "mine", "5 seconds"))
      const toOther = yield* Effect.fork(env.node.call(other as Process.Ref<string, string>, "theirs", "5 seconds"))
      yield* Effect.yieldNow()
      const [[selfRef]] = waitingOn(kernel, self)
      const [[otherRef, otherEntry]] = waitingOn(kernel, kernel.lookup(other)!)
      // the id of a call waiting on this forwarder, but another incarnation's
      const stale = makeFrom(env.probe, unsafeMake(Reference, kernel.name, selfRef!, kernel.creation + 1))
      assert.strictEqual(forward(kernel, self, worker, "question", stale), PLACED)
      assert.strictEqual(self.callers, 1, "the call to this incarnation still counts here")
      assert.strictEqual(kernel.lookup(worker)!.callers, 0)
      // the id of a call waiting on another process
      const theirs = makeFrom(env.probe, unsafeMake(Reference, kernel.name, otherRef!, kernel.creation))
      assert.strictEqual(forward(kernel, self, worker, "question", theirs), PLACED)
      assert.strictEqual(otherEntry!.target, kernel.lookup(other), "still waiting on the other process")
      assert.strictEqual(self.callers, 1)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.interrupt(toSelf)
      yield* Fiber.interrupt(toOther)
    }))
})

describe("waiting for room at a full worker", () => {
  it.scoped("the message goes in when there is room, in line, counted as output; a cancelled wait leaves the line", () =>
    Effect.gen(function*() {
      const { env, kernel, gate, self } = yield* setup
      const worker = yield* env.spawn(Worker, { to: env.probe, gate }, { mailboxSize: 1 })
      yield* env.send(worker, "hold")
      assert.strictEqual(yield* env.receive(), "hold")
      yield* env.send(worker, "first")
      const outcomes: Array<string> = []
      const before = self.messagesOut
      const nodeBefore = kernel.totalOut
      const workerBefore = kernel.lookup(worker)!.messagesOut
      whenRoom(kernel, self, worker, "second", undefined, (placed) => outcomes.push(`second ${placed}`))
      const cancel = whenRoom(kernel, self, worker, "cancelled", undefined, (placed) => outcomes.push(`cancelled ${placed}`))
      whenRoom(kernel, self, worker, "third", undefined, (placed) => outcomes.push(`third ${placed}`))
      cancel()
      cancel() // twice is once
      assert.strictEqual(kernel.lookup(worker)!.waiters!.length, 2)
      yield* Deferred.succeed(gate, undefined)
      const got = [yield* env.receive(), yield* env.receive(), yield* env.receive()]
      assert.deepStrictEqual(got, ["first", "second", "third"])
      assert.deepStrictEqual(outcomes, ["second true", "third true"])
      assert.strictEqual(self.messagesOut, before + 2)
      assert.strictEqual(kernel.totalOut, nodeBefore + 2 + kernel.lookup(worker)!.messagesOut - workerBefore)
      yield* env.expectNoMessage("10 millis")
    }))

  it.scoped("a call that waited for room moves to the worker once placed: the worker's death fails it at once", () =>
    Effect.gen(function*() {
      const { env, kernel, forwarder, self } = yield* setup
      const release = yield* Deferred.make<void>()
      const block = yield* Deferred.make<void>()
      yield* Effect.addFinalizer(() => Effect.zipRight(Deferred.succeed(release, undefined), Deferred.succeed(block, undefined)))
      const worker = yield* env.spawn(Worker, { to: env.probe, gate: release, block }, { mailboxSize: 1 })
      yield* env.send(worker, "hold")
      assert.strictEqual(yield* env.receive(), "hold")
      yield* env.send(worker, "block")
      yield* env.send(forwarder, "hold")
      assert.strictEqual(yield* env.receive(), "hold")
      const call = yield* Effect.fork(env.node.call(forwarder as Process.Ref<string, string>, "question", "5 seconds"))
      yield* Effect.yieldNow()
      const [[refId, entry]] = waitingOn(kernel, self)
      const from = replyAddress(kernel, refId!, entry!)
      const placed: Array<boolean> = []
      whenRoom(kernel, self, worker, "question", from, (ok) => placed.push(ok))
      assert.strictEqual(self.callers, 1, "not moved before it is placed")
      // the worker takes "block" (and waits there): room for the call, which is placed behind it
      yield* Deferred.succeed(release, undefined)
      assert.strictEqual(yield* env.receive(), "block")
      assert.deepStrictEqual(placed, [true])
      assert.strictEqual(self.callers, 0, "moved to the worker")
      yield* env.node.exit(worker, Process.ExitReason.kill)
      const failed = yield* Effect.flip(Fiber.join(call))
      assert.strictEqual((failed as { _tag: string })._tag, "ProcessExited")
    }))

  it.scoped("a worker that ends while senders wait tells them it was not placed; a worker already gone says so at once", () =>
    Effect.gen(function*() {
      const { env, kernel, gate, self } = yield* setup
      const worker = yield* env.spawn(Worker, { to: env.probe, gate }, { mailboxSize: 1 })
      yield* env.send(worker, "hold")
      assert.strictEqual(yield* env.receive(), "hold")
      yield* env.send(worker, "first")
      const outcomes: Array<boolean> = []
      const before = self.messagesOut
      whenRoom(kernel, self, worker, "waiting", undefined, (placed) => outcomes.push(placed))
      yield* env.node.exit(worker, Process.ExitReason.kill)
      assert.deepStrictEqual(outcomes, [false])
      assert.strictEqual(self.messagesOut, before, "not output")
      whenRoom(kernel, self, worker, "late", undefined, (placed) => outcomes.push(placed))
      assert.deepStrictEqual(outcomes, [false, false])
      assert.isTrue(Option.isNone(yield* env.node.info(worker)))
    }))
})
