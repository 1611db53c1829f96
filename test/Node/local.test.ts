/**
 * The inbound half of distribution (`src/Node/internal/local.ts`): what a node does with a
 * call, a message, a link or a monitor that arrived from another node, driven directly
 * (no connection). Written against the survivors of the mutation run of part `core3`
 * (issue 24).
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import { Process } from "../../src/index.js"
import { kernelOf } from "../../src/Node/internal/kernel.js"
import { makeLocal } from "../../src/Node/internal/local.js"
import { CallEnvelope, TracedCallEnvelope } from "../../src/Node/internal/mailbox.js"
import { pidKey } from "../../src/Node/internal/proc.js"
import { MailboxFull } from "../../src/Process/errors.js"
import { Pid, Reference } from "../../src/Process/Pid.js"
import * as Testing from "../testing.js"
import { Idle, Lingering } from "../Process/helpers.js"



const far = new Pid({ node: "elsewhere@host", id: 3, creation: 1 })
const farRef = (id: number) => new Reference({ node: far.node, id, creation: 1 })

describe("what arrives from another node", () => {
  it.scoped("a call or a message to a process that is exiting is refused with ProcessUnknown", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const local = makeLocal(kernelOf(env.node))
      const gate = yield* Deferred.make<void>()
      yield* Effect.addFinalizer(() => Deferred.succeed(gate, undefined))
      const pid = yield* env.spawn(Lingering, { probe: env.probe, gate })
      yield* env.node.exit(pid, Process.ExitReason.shutdown)
      assert.strictEqual(yield* env.receive(), "exiting")
      assert.strictEqual(local.call(far, pid, farRef(1), "request")?._tag, "ProcessUnknown")
      assert.strictEqual(local.deliver(pid, "message", "normal")?._tag, "ProcessUnknown")
    }))

  it.scoped("to a full mailbox, a call, a delivery and a send are refused with MailboxFull; with room they are queued", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const local = makeLocal(kernel)
      const pid = yield* env.spawn(Idle, undefined, { mailboxSize: 2 })
      yield* Process.suspend(pid)
      assert.isUndefined(local.call(far, pid, farRef(1), "request"))
      assert.isUndefined(local.call(far, pid, farRef(2), "traced", ["a".repeat(32), "b".repeat(16), true]))
      const [plain, traced] = kernel.lookup(pid)!.main.items.filter((m) => m !== undefined)
      assert.instanceOf(plain, CallEnvelope)
      assert.notInstanceOf(plain, TracedCallEnvelope)
      assert.instanceOf(traced, TracedCallEnvelope, "the caller's trace context travels with its call")
      assert.instanceOf(local.call(far, pid, farRef(3), "request"), MailboxFull)
      assert.instanceOf(local.deliver(pid, "message", "normal"), MailboxFull)
      assert.instanceOf(local.send(pid, "message", "normal"), MailboxFull)
    }))

  it.scoped("a link and a monitor from another node are taken away when that node says so", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const kernel = kernelOf(env.node)
      const local = makeLocal(kernel)
      const pid = yield* env.spawn(Idle, undefined)
      const proc = kernel.lookup(pid)!
      assert.isTrue(local.link(far, pid))
      assert.isTrue(local.monitor(far, pid, farRef(7)))
      assert.isTrue(proc.links?.has(pidKey(far)))
      assert.isTrue(proc.watchers?.has(7))
      local.unlink(far, pid)
      local.demonitor(pid, farRef(7))
      assert.isFalse(proc.links?.has(pidKey(far)) ?? false)
      assert.isFalse(proc.watchers?.has(7) ?? false)
    }))
})
