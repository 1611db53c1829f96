/**
 * What `@effect/cli` needs to run (`CliApp.Environment`: a `Terminal`, a `FileSystem`, a
 * `Path`) on plain Node, without `@effect/platform-node`: that package would bring
 * `@effect/cluster` and `@effect/sql` as peers to every user of the command line. The
 * commands read no files through the cli (`rain new` writes with `node:fs`), so the file
 * system is `FileSystem.layerNoop`; the terminal is stdin/stdout.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Terminal from "@effect/platform/Terminal"
import { Effect, Layer, Mailbox, Option } from "effect"
import * as readline from "node:readline"

const terminal: Terminal.Terminal = {
  columns: Effect.sync(() => process.stdout.columns ?? 100),
  rows: Effect.sync(() => process.stdout.rows ?? 24),
  isTTY: Effect.sync(() => process.stdout.isTTY === true),
  display: (text) => Effect.sync(() => void process.stdout.write(text)),
  readLine: Effect.async<string, Terminal.QuitException>((resume) => {
    const rl = readline.createInterface({ input: process.stdin, terminal: false })
    rl.once("line", (line) => {
      rl.close()
      resume(Effect.succeed(line))
    })
    rl.once("close", () => resume(Effect.fail(new Terminal.QuitException())))
    return Effect.sync(() => rl.close())
  }),
  readInput: Effect.gen(function*() {
    const mailbox = yield* Mailbox.make<Terminal.UserInput>()
    readline.emitKeypressEvents(process.stdin)
    const raw = process.stdin.isTTY === true
    if (raw) process.stdin.setRawMode(true)
    const onKey = (input: string | undefined, key: readline.Key | undefined) => {
      mailbox.unsafeOffer({
        input: Option.fromNullable(input),
        key: { name: key?.name ?? input ?? "", ctrl: key?.ctrl ?? false, meta: key?.meta ?? false, shift: key?.shift ?? false }
      })
    }
    process.stdin.on("keypress", onKey)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        process.stdin.off("keypress", onKey)
        if (raw) process.stdin.setRawMode(false)
        process.stdin.pause()
      })
    )
    return mailbox
  })
}

/** The cli's environment on Node. */
export const layer: Layer.Layer<Terminal.Terminal | FileSystem.FileSystem | Path.Path> = Layer.mergeAll(
  Layer.succeed(Terminal.Terminal, terminal),
  FileSystem.layerNoop({}),
  Path.layer
)
