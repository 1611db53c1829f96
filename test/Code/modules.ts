/**
 * Behaviour modules written to disk for the load and watch tests: a temporary directory
 * with a `node_modules` link to this project's, so that a module there can import
 * `effect`, removed with the test's scope.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"

/** A temporary directory whose modules resolve `effect` as the tests do; removed with the scope. */
export const moduleDir = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rain-code-"))
    fs.symlinkSync(path.resolve("node_modules"), path.join(dir, "node_modules"), "dir")
    return dir
  }),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/**
 * The source of a greeter behaviour module: `Greeter` answers a call with its version, its
 * greeting and how many calls it has had; from version 2 its state is a record and its
 * `codeChange` carries the count over (or fails when `failMigration`).
 */
export const greeterSource = (version: number, greeting: string, options: { readonly failMigration?: boolean } = {}) =>
  version === 1
    ? `import { Effect } from "effect"
export const Greeter = {
  name: "Greeter",
  version: 1,
  init: () => Effect.succeed(0),
  handleCall: (_request, _from, calls) =>
    Effect.succeed({ _tag: "Reply", value: { version: 1, greeting: ${JSON.stringify(greeting)}, calls: calls + 1 }, state: calls + 1 })
}
export const notABehaviour = 42
`
    : `import { Effect } from "effect"
export const Greeter = {
  name: "Greeter",
  version: ${version},
  init: () => Effect.succeed({ calls: 0, from: undefined }),
  handleCall: (_request, _from, state) =>
    Effect.succeed({
      _tag: "Reply",
      value: { version: ${version}, greeting: ${JSON.stringify(greeting)}, calls: state.calls + 1, from: state.from },
      state: { ...state, calls: state.calls + 1 }
    }),
  codeChange: (oldVersion, state) =>
    ${options.failMigration === true ? `Effect.fail("no migration from " + oldVersion)` : "Effect.succeed(typeof state === \"number\" ? { calls: state, from: oldVersion } : { ...state, from: oldVersion })"}
}
`

/** Writes a file so that its modification time moves even within the same millisecond. */
export const writeModule = (file: string, source: string) =>
  Effect.sync(() => {
    fs.writeFileSync(file, source)
  })
