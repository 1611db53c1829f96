/**
 * Rain as a user gets it from npm: `npm pack` (whose `prepack` builds dist/), the tarball
 * installed with `effect` into a fresh project, a program run with plain `node` (no tsx),
 * and a user file type-checked against the published declarations under the strictest
 * settings (`skipLibCheck: false`, so Rain's own .d.ts are checked too), with
 * `moduleResolution` nodenext and bundler.
 *
 * All of it runs twice, in two fresh projects installed from the one tarball: with the lowest
 * effect the peer range admits and with the one in devDependencies (the highest supported).
 *
 * It takes 2-4 minutes (the build, two installs, four tsc runs). The install prefers the npm
 * cache: after `npm ci` it holds every package but the lowest effect, which the first run
 * fetches from the registry.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))
const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
const tsc = path.join(root, "node_modules", ".bin", "tsc")

interface Ran {
  readonly code: number | null
  /** stdout and stderr as they came */
  readonly out: string
  readonly stdout: string
}

/** Runs a command to its end, or kills it after `timeoutMs` (the result then says so). */
const run = (command: string, args: ReadonlyArray<string>, cwd: string, timeoutMs: number): Effect.Effect<Ran> =>
  Effect.async<Ran>((resume) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NODE_OPTIONS: "" } })
    let out = ""
    let stdout = ""
    child.stdout.on("data", (d) => {
      out += d
      stdout += d
    })
    child.stderr.on("data", (d) => (out += d))
    const timer = setTimeout(() => {
      out += `\n[killed after ${timeoutMs} ms]`
      child.kill("SIGKILL")
    }, timeoutMs)
    child.on("close", (code) => {
      clearTimeout(timer)
      resume(Effect.succeed({ code, out, stdout }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const expectOk = (what: string, ran: Ran): void => {
  assert.strictEqual(ran.code, 0, `${what} failed:\n${ran.out.slice(-4000)}`)
}

const program = `
import { Effect } from "effect"
import { Node, Process } from "rain"

class Boom extends Error {}

const Counter = Process.make({
  name: "Counter",
  init: (start) => Effect.succeed(start),
  handleMessage: (msg, count) => msg === "crash" ? Effect.die(new Boom("crash")) : Effect.succeed(count + msg),
  handleCall: (_req, _from, count) => Effect.succeed(Process.reply(count, count))
})

const main = Effect.scoped(Effect.gen(function*() {
  const node = yield* Node.start("app@localhost")
  const counter = yield* node.spawn(Counter, 40, { name: "counter" })
  yield* node.send(counter, 2)
  const n = yield* node.call("counter", "get")
  const other = yield* node.spawn(Counter, 0)
  yield* node.send(other, "crash")
  const stillThere = yield* node.call(counter, "get")
  console.log(JSON.stringify({ n, stillThere, node: node.name }))
}))

await Effect.runPromise(main)
`

const userFile = `
import { Effect, Schema } from "effect"
import { Node, Process, Supervisor, Testing } from "rain"

class Increment extends Schema.TaggedClass<Increment>()("Increment", { by: Schema.Number }) {}
class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: {}
}) {}

export const Counter = Process.make({
  name: "Counter",
  init: (start: number) => Effect.succeed(start),
  handleMessage: (msg: Increment, count) => Effect.succeed(count + msg.by),
  handleCall: (_req: GetCount, _from, count) => Effect.succeed(Process.reply(count, count))
})

export const tree = Supervisor.oneForOne({ intensity: 3, period: "5 seconds" }).pipe(
  Supervisor.child({ id: "counter", behaviour: Counter, args: 0 })
)

export const program = Effect.scoped(Effect.gen(function*() {
  const node = yield* Node.start("user@localhost", { network: { cookie: "secret", port: 0, messages: [Increment] } })
  const counter = yield* node.spawn(Counter, 0, { name: "counter" })
  yield* node.send(counter, new Increment({ by: 2 }))
  const n: number = yield* node.call(counter, new GetCount(), "1 second")
  yield* Supervisor.start(node, tree)
  return n
}))

export const kit = Testing.make()

// @ts-expect-error: a Counter starts from a number
export const wrong = Node.spawn(Counter, "zero")
`

const tsconfig = (moduleResolution: "nodenext" | "bundler") =>
  JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      module: moduleResolution === "nodenext" ? "nodenext" : "esnext",
      moduleResolution,
      lib: ["ES2022"],
      types: ["node"],
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      noPropertyAccessFromIndexSignature: true,
      skipLibCheck: false,
      noEmit: true
    },
    files: ["user.ts"]
  })

/**
 * The effect versions the test run covers: the lowest the peer range admits (`^X.Y.Z` gives
 * X.Y.Z) and the one Rain is developed against (the highest).
 */
const effectVersions = (): ReadonlyArray<string> => {
  const range: string = manifest.peerDependencies.effect
  const lowest = /^\^(\d+\.\d+\.\d+)$/.exec(range)?.[1]
  assert.isDefined(lowest, `peerDependencies.effect is "${range}"; this test expects a caret range "^X.Y.Z"`)
  const highest: string = manifest.devDependencies.effect
  return lowest === highest ? [highest] : [lowest!, highest]
}

/**
 * Installs the tarball with one effect version into a fresh project of its own, runs the
 * program with plain node and type-checks the user file; every failure names the version.
 */
const checkWith = (dir: string, tarball: string, effectVersion: string) =>
  Effect.gen(function*() {
    const on = `(effect ${effectVersion})`
    const app = path.join(dir, `app-effect-${effectVersion}`)
    fs.mkdirSync(app)
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))
    const installed = yield* run("npm", [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      tarball,
      `effect@${effectVersion}`,
      `@types/node@${manifest.devDependencies["@types/node"]}`
    ], app, 120_000)
    expectOk(`npm install ${on}`, installed)
    const effectManifest = JSON.parse(fs.readFileSync(path.join(app, "node_modules", "effect", "package.json"), "utf8"))
    assert.strictEqual(effectManifest.version, effectVersion, `npm installed effect ${effectManifest.version}`)
    // effect is a peer: Rain must use the project's copy, never bring its own
    assert.isFalse(
      fs.existsSync(path.join(app, "node_modules", "rain", "node_modules", "effect")),
      `a second copy of effect was installed under rain/node_modules ${on}`
    )

    fs.writeFileSync(path.join(app, "app.mjs"), program)
    const ran = yield* run(process.execPath, ["app.mjs"], app, 30_000)
    expectOk(`node app.mjs ${on}`, ran)
    assert.notInclude(ran.out, "Executing an Effect versioned", `two effect runtimes met ${on}:\n${ran.out}`)
    // within the supported range the fast handler loop must recognise effect (the fallback is for newer ones)
    assert.notInclude(ran.out, "RAIN_RUNLOOP_FALLBACK", `the handler loop fell back to fibers ${on}:\n${ran.out}`)
    const last = ran.stdout.trim().split("\n").at(-1) ?? ""
    assert.match(last, /^\{.*\}$/, `node app.mjs ${on} printed no result line:\n${ran.out}`)
    assert.deepStrictEqual(JSON.parse(last), { n: 42, stillThere: 42, node: "app@localhost" }, `node app.mjs ${on}`)

    // the package's bin, as \`npx rain\` runs it, in a project with none of the optional peers
    const cli = yield* run(path.join(app, "node_modules", ".bin", "rain"), ["--help"], app, 30_000)
    expectOk(`rain --help (the bin, no optional peers installed) ${on}`, cli)
    assert.include(cli.stdout, "rain", `rain --help printed no help ${on}:\n${cli.out}`)

    fs.writeFileSync(path.join(app, "user.ts"), userFile)
    fs.writeFileSync(path.join(app, "tsconfig.nodenext.json"), tsconfig("nodenext"))
    fs.writeFileSync(path.join(app, "tsconfig.bundler.json"), tsconfig("bundler"))
    const [nodenext, bundler] = yield* Effect.all([
      run(tsc, ["-p", "tsconfig.nodenext.json"], app, 120_000),
      run(tsc, ["-p", "tsconfig.bundler.json"], app, 120_000)
    ], { concurrency: 2 })
    expectOk(`tsc (moduleResolution nodenext) ${on}`, nodenext)
    expectOk(`tsc (moduleResolution bundler) ${on}`, bundler)
  })

describe("the npm package", () => {
  it.live(
    "packs, installs into a fresh project, runs with plain node, type-checks strictly, on the lowest and highest effect",
    () =>
      Effect.gen(function*() {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rain-pack-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))

        // npm pack runs prepack, which builds dist/; the one tarball serves every effect version
        const packed = yield* run("npm", ["pack", "--json", "--pack-destination", dir], root, 120_000)
        expectOk("npm pack", packed)
        const report = JSON.parse(packed.out.slice(packed.out.indexOf("[")))[0]
        const files: Array<string> = report.files.map((f: { path: string }) => f.path)
        for (
          const needed of ["dist/index.js", "dist/index.d.ts", "dist/index.js.map", "README.md", "LICENSE", "CHANGELOG.md"]
        ) {
          assert.include(files, needed)
        }
        const strays = files.filter((f) =>
          /^(test|bench|\.ci|examples|docs|scratch)\//.test(f) || f.endsWith(".test.ts")
        )
        assert.deepStrictEqual(strays, [])

        // one after the other: each install and type-check already uses both cores
        for (const version of effectVersions()) {
          yield* checkWith(dir, path.join(dir, report.filename), version)
        }
      }).pipe(Effect.scoped),
    300_000
  )
})
