/**
 * Hot code reloading: a counter's module is written to a temporary directory, loaded,
 * and a process started from it; then the file is edited (version 2 keeps its state in a
 * record and counts by tens) and the live process is upgraded without stopping: its count
 * survives through `codeChange`, and the messages sent during the upgrade are handled by
 * the new code.
 *
 *   npx tsx examples/hot-reload.ts
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Console, Effect } from "effect"
import { Code, Node } from "rain"
import type { Process } from "rain"

// The module on disk imports `effect`: a `node_modules` link lets it resolve from the temporary directory.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rain-hot-reload-"))
fs.symlinkSync(path.resolve(import.meta.dirname, "..", "node_modules"), path.join(dir, "node_modules"), "dir")
const file = path.join(dir, "counter.mjs")

const version1 = `import { Effect } from "effect"
export const Counter = {
  name: "Counter",
  version: 1,
  init: () => Effect.succeed(0),
  handleMessage: (_tick, count) => Effect.succeed(count + 1),
  handleCall: (_get, _from, count) => Effect.succeed({ _tag: "Reply", value: "v1 count=" + count, state: count })
}
`

const version2 = `import { Effect } from "effect"
export const Counter = {
  name: "Counter",
  version: 2,
  init: () => Effect.succeed({ count: 0, upgradedFrom: undefined }),
  handleMessage: (_tick, state) => Effect.succeed({ ...state, count: state.count + 10 }),
  handleCall: (_get, _from, state) =>
    Effect.succeed({ _tag: "Reply", value: "v2 count=" + state.count + " (upgraded from v" + state.upgradedFrom + ")", state }),
  // The old state was a number: carry it into the new record.
  codeChange: (oldVersion, count) => Effect.succeed({ count, upgradedFrom: oldVersion })
}
`

Node.runMain("reload@localhost", {}, (node) =>
  Effect.gen(function*() {
    fs.writeFileSync(file, version1)
    const v1 = (yield* Code.load(file))["Counter"] as Process.Any
    // A module loaded at run time has no static types: say what the counter accepts.
    const counter = (yield* node.spawn(v1, undefined)) as Process.Ref<"tick", "get">
    const ask = node.call(counter, "get")
    for (let i = 0; i < 3; i++) yield* node.send(counter, "tick")
    yield* Console.log("before:", yield* ask)

    fs.writeFileSync(file, version2)
    const v2 = (yield* Code.load(file))["Counter"] as Process.Any
    // Sent before the upgrade, still queued: the new code handles them.
    yield* node.send(counter, "tick")
    const report = yield* node.upgrade(v1, v2)
    yield* Console.log("upgraded:", report.behaviours.join(", "), "-", report.upgraded.length, "process")
    yield* node.send(counter, "tick")
    yield* Console.log("after: ", yield* ask)
    yield* node.stop
  }).pipe(Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))))
