import { assert, describe, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { Effect, Fiber, Option } from "effect"
import { Node, Process } from "../../src/index.js"
import { within } from "../Process/helpers.js"

interface Ran {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs test/fixtures/run-main.ts in a child process; `signal` is sent once it printed "running". */
const runMain = (mode: "stop" | "fail" | "wait", signal?: NodeJS.Signals) =>
  Effect.async<Ran, string>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/fixtures/run-main.ts", mode], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    let signalled = false
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      // once, as soon as the program says it runs: the signal lands while the node is young
      if (signal !== undefined && !signalled && stdout.includes("running")) {
        signalled = true
        child.kill(signal)
      }
    })
    child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk.toString()))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      resume(Effect.fail(`the program did not end within 50 s; stdout: ${stdout}`))
    }, 50_000)
    child.once("exit", (code, sig) => {
      clearTimeout(timer)
      resume(Effect.succeed({ code, signal: sig, stdout, stderr }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const Greeter = (log: Array<string>) =>
  Process.make({
    name: "Greeter",
    init: () => Effect.sync(() => void log.push("started")),
    terminate: (reason) => Effect.sync(() => void log.push(`terminated ${reason._tag}`))
  })

describe("Node.run", () => {
  it.live("runs the program, then waits until the node is stopped; the node's processes end with shutdown", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      let node: Node.NodeService | undefined
      const running = yield* Effect.fork(Node.run("run@localhost", {}, (n) =>
        Effect.gen(function*() {
          node = n
          yield* n.spawn(Greeter(log), undefined, { name: "greeter" })
        })))
      // run waits for the node, not for the program
      const greeter = yield* within(
        Effect.suspend(() => (node === undefined ? Effect.fail("not yet") : node.whereis("greeter"))).pipe(
          Effect.flatMap(Option.match({ onNone: () => Effect.fail("not yet"), onSome: Effect.succeed })),
          Effect.retry({ times: 100 })
        ),
        "the program to start its process",
        5
      )
      yield* Effect.sleep("50 millis")
      assert.isNull(running.unsafePoll(), "run is still waiting for the node")
      assert.deepStrictEqual(log, ["started"])
      yield* node!.stop
      yield* within(Fiber.join(running), "run to return once the node stopped", 5)
      assert.deepStrictEqual(log, ["started", "terminated shutdown"])
      assert.strictEqual(greeter.node, "run@localhost")
    }))

  it.live("a failing program fails run with its error, and the node is stopped", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const error = yield* within(
        Effect.flip(Node.run("fail@localhost", {}, (n) => Effect.zipRight(n.spawn(Greeter(log), undefined), Effect.fail("boom" as const)))),
        "run to fail",
        5
      )
      assert.strictEqual(error, "boom")
      assert.deepStrictEqual(log, ["started", "terminated shutdown"])
    }))
})

describe("Node.runMain (child processes)", () => {
  // Three programs at once: each child starts tsx, which is most of the time here.
  it.live("exits 0 when the program stops the node, 1 when it fails (logged), and stops cleanly on SIGTERM", () =>
    Effect.gen(function*() {
      const [stopped, failed, signalled] = yield* Effect.all([runMain("stop"), runMain("fail"), runMain("wait", "SIGTERM")], {
        concurrency: "unbounded"
      })
      assert.strictEqual(stopped.code, 0, stopped.stderr)
      assert.deepStrictEqual(stopped.stdout.trim().split("\n"), ["started", "running", "terminated shutdown"])
      assert.strictEqual(failed.code, 1)
      assert.include(failed.stdout + failed.stderr, "the main program failed on purpose")
      const ownLines = failed.stdout.split("\n").filter((l) => /^(started|running|terminated)/.test(l))
      assert.deepStrictEqual(ownLines, ["started", "terminated shutdown"])
      // the signal interrupts the program: the node's scope closes, terminate runs, and the
      // process exits 0 (a signal right after start too: runMain listens before the program runs)
      assert.deepStrictEqual(signalled.stdout.trim().split("\n"), ["started", "running", "terminated shutdown"])
      assert.strictEqual(signalled.code, 0, signalled.stderr)
      assert.strictEqual(signalled.signal, null)
    }), 90_000)
})
