import { assert, describe, it } from "@effect/vitest"
import { Console, Effect, Logger, LogLevel } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Node, Process } from "rain"

/** Logs at three levels from its init, then stays. */
const Chatty = Process.make({
  name: "Chatty",
  init: () =>
    Effect.logDebug("debug from init").pipe(
      Effect.zipRight(Effect.logInfo("info from init")),
      Effect.zipRight(Effect.logWarning("warning from init"))
    )
})

/** A user's logger: keeps each line's level and message. */
const recorder = () => {
  const lines: Array<{ readonly level: string; readonly message: string }> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push({ level: logLevel.label, message: Array.isArray(message) ? message.join(" ") : String(message) })
  })
  return { lines, logger }
}

/** A Console that keeps what Effect's console loggers write. */
const consoleRecorder = Effect.map(Effect.console, (base) => {
  const written: Array<string> = []
  const record = (...args: ReadonlyArray<unknown>) => void written.push(args.map(String).join(" "))
  const console: Console.Console = {
    ...base,
    log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => record(...args)),
    error: (...args: ReadonlyArray<unknown>) => Effect.sync(() => record(...args)),
    unsafe: { ...base.unsafe, log: record, error: record }
  }
  return { written, console }
})

const startChatty = (options: Node.NodeOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const node = yield* Node.start("logs@localhost", options)
    yield* node.spawn(Chatty, undefined)
  }))

describe("node logging honours the user's Logger and level", () => {
  it.effect("format json beside a user's own Logger adds no second logger", () =>
    Effect.gen(function*() {
      const mine = recorder()
      const out = yield* consoleRecorder
      yield* startChatty({ log: { format: "json" } }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, mine.logger)),
        Effect.withConsole(out.console)
      )
      assert.deepStrictEqual(mine.lines.map((l) => l.message), ["info from init", "warning from init"])
      assert.deepStrictEqual(out.written, [], "no JSON logger wrote to the console beside the user's")
    }))

  it.effect("format json replaces Effect's default logger when it is the one installed", () =>
    Effect.gen(function*() {
      const out = yield* consoleRecorder
      yield* startChatty({ log: { format: "json" } }).pipe(
        Effect.provide(Logger.add(Logger.defaultLogger)),
        Effect.withConsole(out.console)
      )
      const parsed = out.written.map((line) => JSON.parse(line) as { message: unknown; logLevel: string })
      assert.deepStrictEqual(parsed.map((l) => l.message), ["info from init", "warning from init"])
    }))

  it.effect("format json replaces the pretty logger Node.runMain installs in place of the default", () =>
    Effect.gen(function*() {
      const out = yield* consoleRecorder
      yield* startChatty({ log: { format: "json" } }).pipe(
        Effect.provide(Logger.add(Logger.prettyLoggerDefault)),
        Effect.withConsole(out.console)
      )
      const parsed = out.written.map((line) => JSON.parse(line) as { message: unknown })
      assert.deepStrictEqual(parsed.map((l) => l.message), ["info from init", "warning from init"])
    }))

  it.effect("a user's Logger.withMinimumLogLevel is honoured; an explicit log.level wins over it", () =>
    Effect.gen(function*() {
      const debug = recorder()
      yield* startChatty({}).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, debug.logger)),
        Logger.withMinimumLogLevel(LogLevel.Debug)
      )
      assert.deepStrictEqual(debug.lines.map((l) => l.message), ["debug from init", "info from init", "warning from init"])
      const explicit = recorder()
      yield* startChatty({ log: { level: "Warning" } }).pipe(
        Effect.provide(Logger.replace(Logger.defaultLogger, explicit.logger)),
        Logger.withMinimumLogLevel(LogLevel.Debug)
      )
      assert.deepStrictEqual(explicit.lines.map((l) => l.message), ["warning from init"])
      const byDefault = recorder()
      yield* startChatty({}).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, byDefault.logger)))
      assert.deepStrictEqual(byDefault.lines.map((l) => l.message), ["info from init", "warning from init"])
    }))
})

describe("log.output", () => {
  it.effect("a file gets the lines (json here) with the process annotations, beside a user's own Logger", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "rain-logs-"))
      try {
        const file = join(dir, "node.log")
        const mine = recorder()
        yield* startChatty({ log: { format: "json", output: { file } } }).pipe(
          Effect.provide(Logger.replace(Logger.defaultLogger, mine.logger))
        )
        const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as {
          message: string
          annotations: Record<string, string>
        })
        assert.deepStrictEqual(lines.map((l) => l.message), ["info from init", "warning from init"])
        assert.strictEqual(lines[0]!.annotations["node"], "logs@localhost")
        assert.strictEqual(lines[0]!.annotations["behaviour"], "Chatty")
        assert.match(lines[0]!.annotations["pid"]!, /^<logs@localhost\.\d+\.\d+>$/)
        assert.deepStrictEqual(mine.lines.map((l) => l.message), ["info from init", "warning from init"])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }))

  it.effect("a file that cannot be opened, pretty to a file, and an unknown level fail with InvalidNodeOption", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(startChatty({ log: { output: { file: "/nonexistent-dir/rain/node.log" } } }))
      assert.strictEqual(missing._tag, "InvalidNodeOption")
      assert.include(missing.message, "log.output")
      assert.include(missing.message, "ENOENT")
      const pretty = yield* Effect.flip(startChatty({ log: { format: "pretty", output: { file: join(tmpdir(), "x.log") } } }))
      assert.include(pretty.message, "log.format")
      const level = yield* Effect.flip(startChatty({ log: { level: "Loud" as "Info" } }))
      assert.include(level.message, "log.level")
    }))
})

/** A Console that keeps what Effect's console loggers write, by channel. */
const channelRecorder = Effect.map(Effect.console, (base) => {
  const out: Array<string> = []
  const err: Array<string> = []
  const line = (args: ReadonlyArray<unknown>) => args.map(String).join(" ")
  const console: Console.Console = {
    ...base,
    log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void out.push(line(args))),
    error: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void err.push(line(args))),
    unsafe: { ...base.unsafe, log: (...args) => void out.push(line(args)), error: (...args) => void err.push(line(args)) }
  }
  return { out, err, console }
})

describe("log.output and log.format: where each line goes and how it looks", () => {
  const run = (log: NonNullable<Node.NodeOptions["log"]>) =>
    Effect.gen(function*() {
      const { console, err, out } = yield* channelRecorder
      // Effect's default logger installed, as in a program (the test runner takes it out)
      yield* startChatty({ log: { level: "Warning", ...log } }).pipe(
        Effect.provide(Logger.add(Logger.defaultLogger)),
        Effect.withConsole(console)
      )
      const lines = (written: ReadonlyArray<string>) => written.filter((l) => l.includes("warning from init"))
      return { out: lines(out), err: lines(err) }
    })

  it.effect("json, logfmt and text to stdout or stderr; pretty to either", () =>
    Effect.gen(function*() {
      const jsonOut = yield* run({ format: "json" })
      assert.deepStrictEqual([jsonOut.out.length, jsonOut.err.length], [1, 0])
      assert.strictEqual(JSON.parse(jsonOut.out[0]!).message, "warning from init")
      const jsonErr = yield* run({ format: "json", output: "stderr" })
      assert.deepStrictEqual([jsonErr.out.length, jsonErr.err.length], [0, 1])
      assert.strictEqual(JSON.parse(jsonErr.err[0]!).logLevel, "WARN")
      const logfmt = yield* run({ format: "logfmt", output: "stderr" })
      assert.deepStrictEqual([logfmt.out.length, logfmt.err.length], [0, 1])
      assert.match(logfmt.err[0]!, /level=WARN/)
      assert.match(logfmt.err[0]!, /message="warning from init"/)
      const text = yield* run({ format: "text", output: "stderr" })
      assert.deepStrictEqual([text.out.length, text.err.length], [0, 1])
      assert.match(text.err[0]!, /level=WARN/)
      assert.notStrictEqual(text.err[0]!.trim()[0], "{", "text is not json")
      const jsonStdout = yield* run({ format: "json", output: "stdout" })
      assert.deepStrictEqual([jsonStdout.out.length, jsonStdout.err.length], [1, 0], "\"stdout\" said out loud")
      // pretty: "[time] WARN (#fiber): message", not key=value
      const prettyOut = yield* run({ format: "pretty" })
      assert.deepStrictEqual([prettyOut.out.length, prettyOut.err.length], [1, 0])
      assert.match(prettyOut.out[0]!, /WARN/)
      assert.notMatch(prettyOut.out[0]!, /level=WARN/)
      const prettyErr = yield* run({ format: "pretty", output: "stderr" })
      assert.deepStrictEqual([prettyErr.out.length, prettyErr.err.length], [0, 1])
      assert.match(prettyErr.err[0]!, /WARN/)
      assert.notMatch(prettyErr.err[0]!, /level=WARN/)
    }))

  it.effect("an output that is neither stdout, stderr nor { file } fails with InvalidNodeOption naming log.output", () =>
    Effect.gen(function*() {
      for (const output of [{ file: "" }, {}, null, 42, "stdin"]) {
        const error = yield* Effect.flip(startChatty({ log: { output: output as unknown as "stdout" } }))
        assert.strictEqual(error._tag, "InvalidNodeOption", JSON.stringify(output))
        assert.include(error.message, "log.output")
        assert.include(error.message, `"stdout", "stderr" or { file`)
      }
    }))
})

