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
import { jsonResult, runWithout, srcUrl as src } from "../fixtures/without-package.js"

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

describe("rain/Rpc without @effect/platform-node installed", () => {
  it.live("the Control client works; a gateway fails with ListenFailed naming the package to install", () =>
    Effect.gen(function*() {
      const result = yield* jsonResult("@effect/platform-node", yield* runWithout("@effect/platform-node", program))
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
