import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Option, Queue } from "effect"
import type { Process as P } from "../../src/index.js"
import * as Meta from "../../src/Meta/index.js"
import { Node, Process } from "../../src/index.js"
import { eventually } from "./helpers.js"

/** Puts every message into a queue the test reads. */
const Collector = Process.make({
  name: "Collector",
  init: (queue: Queue.Queue<unknown>) => Effect.succeed(queue),
  handleMessage: (message: unknown, queue) => Effect.as(Queue.offer(queue, message), queue)
})

/** Linked to a port it is given; does nothing else (dies with the port's abnormal exit). */
const Linked = Process.make({
  name: "Linked",
  init: (port: P.Pid, ctx) => Effect.as(ctx.link(port), port)
})

/** Takes nothing until the gate opens, then forwards: its bounded mailbox fills meanwhile. */
const Gated = Process.make({
  name: "Gated",
  options: { mailboxSize: 64 },
  init: (args: { readonly gate: Deferred.Deferred<void>; readonly out: Queue.Queue<unknown> }) => Effect.succeed(args),
  handleMessage: (message: unknown, state) =>
    Effect.zipRight(Deferred.await(state.gate), Effect.as(Queue.offer(state.out, message), state))
})

/** Spins about a quarter of a millisecond per message: with a flood queued, every drain runs past its budget. */
const Busy = Process.make({
  name: "Busy",
  init: () => Effect.succeed(0),
  handleMessage: (_message: unknown, n) =>
    Effect.sync(() => {
      const until = performance.now() + 0.25
      while (performance.now() < until) { /* busy */ }
      return n + 1
    })
})

const take = (queue: Queue.Queue<unknown>) =>
  Effect.timeoutFail(Queue.take(queue), { duration: "15 seconds", onTimeout: () => new Error("nothing within 15 s") })

const alive = (osPid: number) => {
  try {
    process.kill(osPid, 0)
    return true
  } catch {
    return false
  }
}

describe("Meta.Port", () => {
  it.scopedLive("stdin from PortWrite, stdout lines as PortData, then PortExited; the port ends normally", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("port@localhost")
      const inbox = yield* Queue.unbounded<unknown>()
      const collector = yield* node.spawn(Collector, inbox)
      const port = yield* node.spawn(Meta.Port, { command: "sort", handler: collector })
      const detail = Option.getOrThrow(yield* node.info(port)).detail as Meta.PortInfo
      assert.strictEqual(detail.command, "sort")
      assert.isTrue(detail.running)
      const exited = yield* Effect.fork(node.awaitExit(port))
      yield* node.send(port, new Meta.PortWrite({ data: "pear\napple\n" }))
      yield* node.send(port, new Meta.PortWrite({ data: new TextEncoder().encode("fig\n") }))
      yield* node.send(port, new Meta.PortCloseInput())
      const lines: Array<string> = []
      for (let i = 0; i < 3; i++) lines.push(((yield* take(inbox)) as Meta.PortData).data)
      assert.deepStrictEqual(lines, ["apple", "fig", "pear"])
      const end = (yield* take(inbox)) as Meta.PortExited
      assert.strictEqual(end._tag, "rain/Meta/PortExited")
      assert.strictEqual(end.status, 0)
      assert.strictEqual((yield* Effect.flatten(exited.await))._tag, "normal")
    }))

  it.scopedLive("stderr too; a non-zero status ends the port with an error and its links with it", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("port@localhost")
      const inbox = yield* Queue.unbounded<unknown>()
      const collector = yield* node.spawn(Collector, inbox)
      const port = yield* node.spawn(Meta.Port, {
        command: "sh",
        args: ["-c", "read x; echo \"out $x\"; echo \"err $GREETING\" >&2; exit 3"],
        env: { GREETING: "hi" },
        handler: collector
      })
      const linked = yield* node.spawn(Linked, port)
      const linkedExit = yield* Effect.fork(node.awaitExit(linked))
      yield* node.send(port, new Meta.PortWrite({ data: "1\n" }))
      const got = new Map<string, string>()
      for (let i = 0; i < 2; i++) {
        const data = (yield* take(inbox)) as Meta.PortData
        got.set(data.stream, data.data)
      }
      assert.deepStrictEqual(Object.fromEntries(got), { stdout: "out 1", stderr: "err hi" })
      const end = (yield* take(inbox)) as Meta.PortExited
      assert.strictEqual(end.status, 3)
      assert.strictEqual(end.description, "OS process exited with status 3")
      assert.strictEqual((yield* Effect.flatten(linkedExit.await))._tag, "error")
    }))

  it.scopedLive("an OS process killed from outside reports its signal; stopping a port stops its OS process", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("port@localhost")
      const inbox = yield* Queue.unbounded<unknown>()
      const collector = yield* node.spawn(Collector, inbox)
      const victim = yield* node.spawn(Meta.Port, { command: "sleep", args: ["30"], handler: collector })
      const victimPid = (Option.getOrThrow(yield* node.info(victim)).detail as Meta.PortInfo).osPid
      const linked = yield* node.spawn(Linked, victim)
      const linkedExit = yield* Effect.fork(node.awaitExit(linked))
      process.kill(victimPid, "SIGKILL")
      const end = (yield* take(inbox)) as Meta.PortExited
      assert.strictEqual(end.status, null)
      assert.strictEqual(end.signal, "SIGKILL")
      assert.strictEqual((yield* Effect.flatten(linkedExit.await))._tag, "error")

      const stopped = yield* node.spawn(Meta.Port, { command: "sleep", args: ["30"], handler: collector })
      const osPid = (Option.getOrThrow(yield* node.info(stopped)).detail as Meta.PortInfo).osPid
      assert.isTrue(alive(osPid))
      yield* node.exit(stopped, Process.ExitReason.shutdown)
      yield* node.awaitExit(stopped)
      yield* eventually(Effect.sync(() => !alive(osPid)), "OS process gone")
    }))

  it.scopedLive("a full handler mailbox stops reading the OS process's output: it waits on the pipe", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("port@localhost")
      const gate = yield* Deferred.make<void>()
      const out = yield* Queue.unbounded<unknown>()
      const gated = yield* node.spawn(Gated, { gate, out })
      const total = 30_000 // about 320 KB: more than a pipe and a stream buffer hold
      const port = yield* node.spawn(Meta.Port, {
        command: "sh",
        args: ["-c", `i=0; while [ $i -lt ${total} ]; do echo "line $i"; i=$((i+1)); done`],
        handler: gated
      })
      yield* Effect.sleep("1500 millis")
      // without backpressure the shell would have written everything and exited by now
      assert.isTrue((Option.getOrThrow(yield* node.info(port)).detail as Meta.PortInfo).running)
      assert.isAtMost(Option.getOrThrow(yield* node.info(gated)).mailbox.main, 64)
      yield* Deferred.succeed(gate, undefined)
      const got: Array<unknown> = []
      yield* Effect.gen(function*() {
        while (got.length < total + 1) got.push(...(yield* Queue.takeBetween(out, 1, 10_000)))
      }).pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`only ${got.length} messages`) }))
      for (let i = 0; i < total; i++) {
        const data = got[i] as Meta.PortData
        if (data.data !== `line ${i}`) assert.fail(`line ${i} missing or out of order: ${data.data}`)
      }
      assert.strictEqual((got[total] as Meta.PortExited).status, 0)
    }), 30_000)

  it.scopedLive("a command that exits at once on a busy node still delivers all its output", () =>
    Effect.gen(function*() {
      // The port's readers must listen on the pipes before Node sees the OS process exit: it
      // throws away output nobody is reading then. They once started a few scheduler turns
      // after the spawn, and a busy node (a drain past its budget lets I/O in) lost it all.
      const node = yield* Node.start("port@localhost")
      const busy = yield* node.spawn(Busy, undefined)
      for (let i = 0; i < 2; i++) {
        for (let n = 0; n < 4_000; n++) yield* node.send(busy, n) // a second of work
        const inbox = yield* Queue.unbounded<unknown>()
        const collector = yield* node.spawn(Collector, inbox)
        yield* node.spawn(Meta.Port, { command: "sh", args: ["-c", `echo early ${i}; echo late ${i} >&2`], handler: collector })
        const got: Array<string> = []
        for (;;) {
          const message = yield* take(inbox)
          if (message instanceof Meta.PortExited) break
          got.push(`${(message as Meta.PortData).stream}: ${(message as Meta.PortData).data}`)
        }
        assert.deepStrictEqual(got.sort(), [`stderr: late ${i}`, `stdout: early ${i}`])
        // the flood was still being handled: the node was busy all along
        assert.isAbove(Option.getOrThrow(yield* node.info(busy)).mailbox.main, 0)
      }
    }))

  it.scopedLive("a command that cannot start fails spawn with why", () =>
    Effect.gen(function*() {
      const node = yield* Node.start("port@localhost")
      const inbox = yield* Queue.unbounded<unknown>()
      const collector = yield* node.spawn(Collector, inbox)
      const missing = yield* Effect.flip(node.spawn(Meta.Port, { command: "no-such-command-rain", handler: collector }))
      assert.match(missing.message, /could not be started \(no-such-command-rain\)/)
      const empty = yield* Effect.flip(node.spawn(Meta.Port, { command: "", handler: collector }))
      assert.match(empty.message, /command must be a non-empty string/)
    }))
})
