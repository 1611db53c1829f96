/**
 * The `rain` command line as a user runs it: a child process (`node --import tsx
 * src/Cli/main.ts ...`) against a node started in the test on 127.0.0.1.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Application, Node, Process, Supervisor } from "../../src/index.js"

const root = fileURLToPath(new URL("../..", import.meta.url))
const COOKIE = "cli-secret"

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the cli to its end (killed after 30 s, which the result then says). */
const rain = (
  args: ReadonlyArray<string>,
  options: { readonly env?: Record<string, string | undefined>; readonly onStdout?: (text: string, write: (s: string) => void) => void } = {}
): Effect.Effect<Ran> =>
  Effect.async<Ran>((resume) => {
    const env: Record<string, string | undefined> = { ...process.env, NODE_OPTIONS: "", RAIN_COOKIE: undefined, ...options.env }
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k]
    const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "src/Cli/main.ts"), ...args], {
      cwd: root,
      env: env as NodeJS.ProcessEnv
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => {
      stdout += d
      options.onStdout?.(stdout, (s) => child.stdin.write(s))
    })
    child.stderr.on("data", (d) => (stderr += d))
    const timer = setTimeout(() => {
      stderr += "\n[killed after 30 s]"
      child.kill("SIGKILL")
    }, 30_000)
    child.on("close", (code) => {
      clearTimeout(timer)
      resume(Effect.succeed({ code, stdout, stderr }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const ok = (what: string, ran: Ran): string => {
  assert.strictEqual(ran.code, 0, `${what} failed (${ran.code}):\n${ran.stdout}\n${ran.stderr}`)
  return ran.stdout
}

/** A failure is one line on stderr with a non-zero exit. */
const oneLineFailure = (ran: Ran, pattern: RegExp): void => {
  assert.notStrictEqual(ran.code, 0, `expected a failure:\n${ran.stdout}`)
  // nothing else on the terminal: no log line (a refused handshake's WARN) beside it
  assert.strictEqual(ran.stdout.trim(), "", `expected nothing on stdout, got:\n${ran.stdout}`)
  const lines = ran.stderr.trim().split("\n")
  assert.strictEqual(lines.length, 1, `expected one line on stderr, got:\n${ran.stderr}`)
  assert.match(lines[0]!, pattern)
}

class Poke extends Schema.TaggedClass<Poke>()("test/Cli/Poke", {}) {}

const Worker = Process.make({
  name: "Worker",
  init: (_: string) => Effect.succeed(0),
  handleMessage: (_: Poke, n: number) => Effect.succeed(n + 1)
})

const App = Application.make({
  name: "shop",
  version: "2.0.0",
  root: Supervisor.oneForOne().pipe(Supervisor.child({ id: "cashier", behaviour: Worker, args: "c", name: "cashier" }))
})

const startNode = Node.start("cli@127.0.0.1", {
  log: { crashReports: false },
  network: { cookie: COOKIE, port: 0 },
  applications: [App]
})

describe("rain command line", () => {
  it.live("ping, info, ps --once, tree and kill against a node", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode
      const at = `cli@127.0.0.1:${node.port}`
      for (let i = 0; i < 30; i++) yield* node.spawn(Worker, "w")
      const pong = ok("ping", yield* rain(["ping", "--node", at, "--cookie", COOKIE]))
      assert.match(pong, /^pong from cli@127\.0\.0\.1 \(creation \d+\) in [\d.]+ ms$/m)
      // The cookie from RAIN_COOKIE, host:port without a name.
      const info = ok("info", yield* rain(["info", "--node", `127.0.0.1:${node.port}`], { env: { RAIN_COOKIE: COOKIE } }))
      assert.match(info, /node\s+cli@127\.0\.0\.1 \(creation \d+\)/)
      assert.match(info, new RegExp(`processes\\s+${(yield* node.metrics).processCount} \\(1 registered names\\)`))
      const ps = ok("ps", yield* rain(["ps", "--once", "--node", at, "--cookie", COOKIE, "--sort", "pid", "--limit", "5"]))
      const lines = ps.trim().split("\n")
      assert.match(lines[0]!, /^cli@127\.0\.0\.1: 32 processes, 1-5 shown, sorted by pid$/)
      assert.match(lines[1]!, /^PID\s+NAME\s+BEHAVIOUR\s+STATUS\s+MAILBOX\s+HANDLED\s+MSGS\/S\s+MEMORY\s+UPTIME$/)
      assert.strictEqual(lines.length, 7)
      // The sorts by status and by messages/s are the node's (the rate column is "-" the first time a row is listed).
      for (const sort of ["status", "rate"]) {
        const sorted = ok(`ps --sort ${sort}`, yield* rain(["ps", "--once", "-n", at, "-c", COOKIE, "--sort", sort, "--limit", "3"]))
        assert.match(sorted.split("\n")[0]!, new RegExp(`, 1-3 shown, sorted by ${sort}$`))
      }
      const badSort = yield* rain(["ps", "--once", "-n", at, "-c", COOKIE, "--sort", "colour"])
      assert.notStrictEqual(badSort.code, 0)
      const cashier = Option.getOrThrow(yield* node.whereis("cashier"))
      const filtered = ok("ps --name", yield* rain(["ps", "--once", "-n", at, "-c", COOKIE, "--name", "cash"]))
      assert.include(filtered, cashier.toString())
      assert.match(filtered, /32 processes, 1 match, 1-1 shown/)
      const tree = ok("tree", yield* rain(["tree", "--node", at, "--cookie", COOKIE]))
      assert.match(tree, /^shop 2\.0\.0 running \(temporary\)/m)
      assert.match(tree, new RegExp(`^    cashier ${cashier.toString().replace(/[.<>]/g, "\\$&")} worker Worker, permanent, 0 restarts$`, "m"))
      const killed = ok("kill", yield* rain(["kill", "cashier", "--node", at, "--cookie", COOKIE]))
      assert.strictEqual(killed.trim(), `sent kill to cashier ${cashier}`)
      assert.isTrue(Option.isNone(yield* node.info(cashier)))
      // Its supervisor restarts it (waited for on the node), and the tree says so.
      for (let i = 0; i < 250 && Option.isNone(yield* node.whereis("cashier")); i++) yield* Effect.sleep("20 millis")
      const again = ok("tree", yield* rain(["tree", "--node", at, "--cookie", COOKIE]))
      assert.match(again, /cashier <cli@127\.0\.0\.1\.\d+\.\d+> worker Worker, permanent, 1 restart$/m)
      oneLineFailure(yield* rain(["kill", "nobody", "--node", at, "--cookie", COOKIE]), /^rain: No process nobody on cli@127\.0\.0\.1/)
    })), 120_000)

  it.live("rain observer serves the web observer of a node on this machine, until stopped", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode
      // started from host:port alone: it learns the node's name from its control plane; it
      // serves until stopped, so the test's scope kills it
      const child = yield* Effect.acquireRelease(
        Effect.sync(() =>
          spawn(
            process.execPath,
            ["--import", "tsx", path.join(root, "src/Cli/main.ts"), "observer", "--node", `127.0.0.1:${node.port}`, "--cookie", COOKIE],
            { cwd: root, env: { ...process.env, NODE_OPTIONS: "" } }
          )
        ),
        (child) => Effect.sync(() => child.kill("SIGKILL"))
      )
      const url = yield* Effect.async<string, string>((resume) => {
        let stdout = ""
        let stderr = ""
        child.stdout.on("data", (d) => {
          stdout += d
          const found = /^observer of cli@127\.0\.0\.1 at (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)$/m.exec(stdout)
          if (found !== null) resume(Effect.succeed(found[1]!))
        })
        child.stderr.on("data", (d) => (stderr += d))
        child.on("close", (code) => resume(Effect.fail(`rain observer ended (${code}) before serving:\n${stdout}\n${stderr}`)))
        const timer = setTimeout(() => resume(Effect.fail(`no URL within 30 s:\n${stdout}\n${stderr}`)), 30_000)
        return Effect.sync(() => clearTimeout(timer))
      })
      const { origin, searchParams } = new URL(url)
      const nodes = yield* Effect.promise(() =>
        fetch(`${origin}/api/nodes`, {
          headers: { authorization: `Bearer ${searchParams.get("token")}` },
          signal: AbortSignal.timeout(10_000)
        }).then((r) => r.json() as Promise<{ nodes: Array<{ name: string; self: boolean }> }>)
      )
      assert.deepInclude(nodes.nodes, { name: "cli@127.0.0.1", self: false }, JSON.stringify(nodes))
      // read-only unless --actions: a kill from the page is refused
      const refused = yield* Effect.promise(() =>
        fetch(`${origin}/api/nodes/cli@127.0.0.1/processes/cashier/kill`, {
          method: "POST",
          headers: { authorization: `Bearer ${searchParams.get("token")}` },
          signal: AbortSignal.timeout(10_000)
        })
      )
      assert.strictEqual(refused.status, 403)
      assert.isTrue(Option.isSome(yield* node.whereis("cashier")))
    })), 60_000)

  it.live("ps refreshes every second until q", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode
      let frames = 0
      const ran = yield* rain(["ps", "--node", `127.0.0.1:${node.port}`, "--cookie", COOKIE], {
        onStdout: (text, write) => {
          const n = text.split("\f").length - 1
          if (n >= 2 && frames < 2) write("q\n")
          frames = n
        }
      })
      ok("ps (refreshing)", ran)
      assert.isAtLeast(ran.stdout.split("\f").length - 1, 2)
      assert.include(ran.stdout, "(q or Ctrl-C to quit)")
    })), 60_000)

  it.live("a wrong cookie, an unreachable node, a wrong name, no cookie, a bad address: one line, exit 1", () =>
    Effect.scoped(Effect.gen(function*() {
      const node = yield* startNode
      const at = `cli@127.0.0.1:${node.port}`
      oneLineFailure(yield* rain(["ping", "--node", at, "--cookie", "wrong"]), /^rain: The node at 127\.0\.0\.1:\d+ refused the cookie/)
      oneLineFailure(yield* rain(["ps", "--once", "--node", "127.0.0.1:1", "--cookie", COOKIE]), /^rain: Cannot reach a node at 127\.0\.0\.1:1/)
      oneLineFailure(
        yield* rain(["info", "--node", `other@127.0.0.1:${node.port}`, "--cookie", COOKIE]),
        /^rain: The node at .* is not the one asked for: it is cli@127\.0\.0\.1, not other@127\.0\.0\.1/
      )
      oneLineFailure(yield* rain(["ping", "--node", at]), /^rain: No cookie: pass --cookie or set RAIN_COOKIE/)
      oneLineFailure(yield* rain(["ping", "--node", "nowhere", "--cookie", COOKIE]), /^rain: --node "nowhere" is not name@host:port/)
    })), 120_000)

  it.live("help text on every command", () =>
    Effect.gen(function*() {
      const top = ok("--help", yield* rain(["--help"]))
      for (const command of ["ping", "info", "ps", "tree", "kill", "new"]) assert.include(top, command)
      const expected: Record<string, RegExp> = {
        ping: /Checks that a node answers/,
        info: /figures/,
        ps: /top-like/,
        tree: /supervision tree/,
        kill: /exit signal/,
        new: /Creates a project/
      }
      const helps = yield* Effect.forEach(Object.keys(expected), (command) => rain([command, "--help"]), { concurrency: 2 })
      Object.entries(expected).forEach(([command, pattern], i) => {
        const help = ok(`${command} --help`, helps[i]!)
        assert.match(help, pattern)
        if (command !== "new") assert.include(help, "--cookie")
      })
    }), 120_000)

  it.live("rain new scaffolds a project that type-checks against this repository", () =>
    Effect.gen(function*() {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "rain-new-"))
      try {
        const dir = path.join(tmp, "my-app")
        const out = ok("new", yield* rain(["new", "my-app", "--dir", dir]))
        assert.include(out, "created my-app")
        for (const file of ["package.json", "tsconfig.json", "src/app.ts", "src/worker.ts", "src/main.ts", "test/app.test.ts", "README.md"]) {
          assert.isTrue(fs.existsSync(path.join(dir, file)), `${file} is missing`)
        }
        const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"))
        assert.match(manifest.dependencies.rain, /^\^\d+\.\d+\.\d+$/)
        assert.strictEqual(manifest.type, "module")
        const readme = fs.readFileSync(path.join(dir, "README.md"), "utf8")
        assert.include(readme, "npm start")
        assert.include(readme, "npm test")
        // Type-check it with its own tsconfig, "rain" resolved to this repository's sources.
        fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir")
        fs.writeFileSync(path.join(dir, "tsconfig.check.json"), JSON.stringify({
          extends: "./tsconfig.json",
          compilerOptions: { paths: { rain: [path.join(root, "src/index.ts")] } }
        }))
        const tsc = yield* Effect.async<Ran>((resume) => {
          const child = spawn(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.check.json"], { cwd: dir })
          let stdout = ""
          child.stdout.on("data", (d) => (stdout += d))
          child.stderr.on("data", (d) => (stdout += d))
          child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderr: "" })))
          return Effect.sync(() => child.kill("SIGKILL"))
        })
        ok("tsc on the scaffold", tsc)
        // Not over an existing project, and not with a bad name.
        oneLineFailure(yield* rain(["new", "my-app", "--dir", dir]), /^rain: cannot write the project: .* exists and is not empty/)
        oneLineFailure(yield* rain(["new", "My App", "--dir", path.join(tmp, "x")]), /^rain: "My App" is not a project name/)
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true })
      }
    }), 120_000)
})
