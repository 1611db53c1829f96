/**
 * `@effect/platform-node` is an optional peer that only the gateway's servers need: without it
 * installed, `rain/Rpc`'s Control client and the `rain` command line still load and work, and
 * spawning a gateway fails with `ListenFailed` naming the package to install.
 *
 * The package is made absent for real in a child `node`: a module resolve hook refuses it as
 * Node refuses a package that is not installed (`ERR_MODULE_NOT_FOUND`).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))
const src = (file: string) => JSON.stringify(pathToFileURL(path.join(root, "src", file)).href)

const hooks = `
let hidden = ""
export async function initialize(data) { hidden = data.hidden }
export async function resolve(specifier, context, next) {
  if (specifier === hidden) {
    const error = new Error("Cannot find package '" + specifier + "'")
    error.code = "ERR_MODULE_NOT_FOUND"
    throw error
  }
  return next(specifier, context)
}
`

const program = `
import { Effect, Schema } from "effect"
import { spawnSync } from "node:child_process"
import { Node, Process } from ${src("index.ts")}
import { Control, Gateway } from ${src("Rpc/index.ts")}

class Get extends Schema.TaggedRequest()("Get", { failure: Schema.Never, success: Schema.Number, payload: {} }) {}

const main = Effect.scoped(Effect.gen(function*() {
  const node = yield* Node.start("peerless@127.0.0.1", { log: { level: "None" }, network: { cookie: "c", port: 0 } })
  const admin = yield* Control.client({ host: "127.0.0.1", port: node.port, cookie: "c" })
  const ping = (yield* admin.Ping()).node
  const gateway = yield* node.spawn(Gateway.Server, { port: 0, expose: { counter: [Get] } }).pipe(
    Effect.as("started"),
    Effect.catchAll((e) => Effect.succeed(e.message))
  )
  return { ping, gateway, port: node.port }
}))

const result = await Effect.runPromise(main.pipe(Effect.flatMap((r) => Effect.promise(async () => r))))
console.log(JSON.stringify(result))
`

const cliProgram = (port: number) => `
process.argv = [process.argv[0], "rain", "ping", "--node", "127.0.0.1:${port}", "--cookie", "c"]
await import(${src("Cli/main.ts")})
`

interface Ran {
  readonly code: number | null
  readonly out: string
}

/** Runs `source` (TypeScript via tsx) in a child node where `hidden` cannot be resolved. */
const runWithout = (hidden: string, source: string) =>
  Effect.async<Ran>((resume) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rain-peers-"))
    fs.writeFileSync(path.join(dir, "hooks.mjs"), hooks)
    fs.writeFileSync(
      path.join(dir, "hide.mjs"),
      `import { register } from "node:module"\n` +
        `register(${JSON.stringify(pathToFileURL(path.join(dir, "hooks.mjs")).href)}, { data: { hidden: ${
          JSON.stringify(hidden)
        } } })\n`
    )
    const file = path.join(root, "test", "Rpc", `.optional-peers-${process.pid}-${Date.now()}.mts`)
    fs.writeFileSync(file, source)
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--import", pathToFileURL(path.join(dir, "hide.mjs")).href, file],
      { cwd: root, env: { ...process.env, NODE_OPTIONS: "" } }
    )
    let out = ""
    child.stdout.on("data", (d) => (out += d))
    child.stderr.on("data", (d) => (out += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), 40_000)
    child.on("close", (code) => {
      clearTimeout(timer)
      fs.rmSync(file, { force: true })
      fs.rmSync(dir, { recursive: true, force: true })
      resume(Effect.succeed({ code, out }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

describe("rain/Rpc without @effect/platform-node installed", () => {
  it.live("the Control client works; a gateway fails with ListenFailed naming the package to install", () =>
    Effect.gen(function*() {
      const ran = yield* runWithout("@effect/platform-node", program)
      const line = ran.out.split("\n").find((l) => l.startsWith("{"))
      assert.isDefined(line, `no result (exit ${ran.code}):\n${ran.out.slice(-3000)}`)
      const result = JSON.parse(line!)
      assert.strictEqual(result.ping, "peerless@127.0.0.1")
      assert.include(result.gateway, "Gateway could not listen")
      assert.include(result.gateway, "npm install @effect/platform-node")
    }), 60_000)

  it.live("the rain command line loads and answers (it needs no gateway)", () =>
    Effect.gen(function*() {
      // a node to ping, in this process
      const { Node } = yield* Effect.promise(() => import("../../src/index.js"))
      const ran = yield* Effect.scoped(Effect.gen(function*() {
        const node = yield* Node.start("pinged@127.0.0.1", { log: { level: "None" }, network: { cookie: "c", port: 0 } })
        return yield* runWithout("@effect/platform-node", cliProgram(node.port))
      }))
      assert.strictEqual(ran.code, 0, ran.out.slice(-3000))
      assert.include(ran.out, "pong from pinged@127.0.0.1")
    }), 60_000)
})
