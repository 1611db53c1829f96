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
