/**
 * How a node sets up logging for its processes (`log.level`, `log.format`, `log.output`)
 * without overriding what the user set up: the runtime the node captures at start keeps
 * the caller's loggers and minimum level unless an option asks otherwise.
 *
 * - `level` only when given: a user's `Logger.withMinimumLogLevel` around `Node.start` is
 *   the default.
 * - `format` replaces Effect's default logger (or the pretty one `Node.runMain` installs)
 *   only while it is installed: a user's own `Logger` (the default replaced or removed)
 *   wins, and no second logger appears beside it.
 * - `output` (a stream or a file) is an explicit destination: it replaces the default
 *   logger, or is added beside a user's own.
 *
 * @internal
 */
import { closeSync, createWriteStream, openSync } from "node:fs"
import type { WriteStream } from "node:fs"
import { Effect, FiberRef, HashSet, Logger, LogLevel } from "effect"
import type { Scope } from "effect"

/** The `log` options this file reads. */
export interface LogSetup {
  readonly level?: LogLevel.Literal | undefined
  readonly format?: "text" | "json" | "logfmt" | "pretty" | undefined
  readonly output?: "stdout" | "stderr" | { readonly file: string } | undefined
}

/**
 * The loggers that are nobody's choice: Effect's default, and the pretty logger that
 * `Node.runMain` (as `NodeRuntime.runMain`) puts in its place. The node's format replaces them.
 */
const defaults: ReadonlyArray<Logger.Logger<unknown, void>> = [Logger.defaultLogger, Logger.prettyLoggerDefault]

/** Why a `log` option cannot be used: the option, its value, and what it must be. */
export interface LogOptionError {
  readonly option: string
  readonly value: unknown
  readonly expected: string
}

const formatter = (format: LogSetup["format"]): Logger.Logger<unknown, string> => {
  switch (format) {
    case "json":
      return Logger.jsonLogger
    case "logfmt":
      return Logger.logfmtLogger
    default:
      return Logger.stringLogger
  }
}

/** Opens a log file for appending: the stream, or why not. */
const openFile = (path: string): Effect.Effect<WriteStream, LogOptionError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        // Opened synchronously so that a bad path fails Node.start, not a later write.
        const fd = openSync(path, "a")
        try {
          return createWriteStream(path, { fd, flags: "a" })
        } catch (error) {
          closeSync(fd)
          throw error
        }
      },
      catch: (error) => ({
        option: "log.output",
        value: `{ file: ${JSON.stringify(path)} }`,
        expected: `a file this process can append to (${error instanceof Error ? error.message : String(error)})`
      })
    }),
    (stream) => Effect.async<void>((resume) => void stream.end(() => resume(Effect.void)))
  )

/**
 * The logger the node's options ask for, or undefined to keep the loggers in place; and
 * whether it replaces Effect's default logger or joins the user's.
 */
const loggerFor = (
  setup: LogSetup
): Effect.Effect<Logger.Logger<unknown, void> | undefined, LogOptionError, Scope.Scope> =>
  Effect.gen(function*() {
    const { format, output } = setup
    if (output === undefined || output === "stdout") {
      if (format === undefined || format === "text") return undefined
      if (format === "pretty") return Logger.prettyLogger()
      return Logger.withConsoleLog(formatter(format))
    }
    if (output === "stderr") {
      if (format === "pretty") return Logger.prettyLogger({ stderr: true })
      return Logger.withConsoleError(formatter(format))
    }
    if (typeof output !== "object" || output === null || typeof output.file !== "string" || output.file === "") {
      return yield* Effect.fail<LogOptionError>({
        option: "log.output",
        value: JSON.stringify(output),
        expected: `"stdout", "stderr" or { file: "path/to/file.log" }`
      })
    }
    if (format === "pretty") {
      return yield* Effect.fail<LogOptionError>({
        option: "log.format",
        value: "pretty",
        expected: `"text", "json" or "logfmt" with log.output { file } (pretty writes to the console)`
      })
    }
    const stream = yield* openFile(output.file)
    return Logger.map(formatter(format), (line) => void stream.write(line + "\n"))
  })

/**
 * Runs `effect` (the node capturing its runtime) with the logging the options ask for,
 * honouring the user's own loggers and level (see the header).
 */
export const withNodeLogging = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  setup: LogSetup | undefined
): Effect.Effect<A, E | LogOptionError, R | Scope.Scope> =>
  Effect.gen(function*() {
    const options = setup ?? {}
    const logger = yield* loggerFor(options)
    let result: Effect.Effect<A, E, R> = effect
    if (logger !== undefined) {
      const loggers = yield* FiberRef.get(FiberRef.currentLoggers)
      const builtIn = defaults.filter((l) => HashSet.has(loggers, l))
      const explicitOutput = options.output !== undefined && options.output !== "stdout"
      if (builtIn.length > 0) {
        const rest = builtIn.reduce((set, l) => HashSet.remove(set, l), loggers)
        result = Effect.locally(result, FiberRef.currentLoggers, HashSet.add(rest, logger))
      } else if (explicitOutput) {
        result = Effect.locally(result, FiberRef.currentLoggers, HashSet.add(loggers, logger))
      }
    }
    if (options.level !== undefined) result = Logger.withMinimumLogLevel(result, LogLevel.fromLiteral(options.level))
    return yield* result
  })
