/**
 * `rain new <app>`: a project with Rain, an application (a supervisor and a worker), a test
 * on the test kit, and a README.
 *
 * @internal
 */
import * as fs from "node:fs"
import * as path from "node:path"

/** What `rain new` writes, by path relative to the project. */
export const files = (
  name: string,
  versions: { readonly rain: string; readonly effect: string }
): Record<string, string> => {
  const pascal = name.split(/[-_]/).filter((s) => s.length > 0).map((s) => s[0]!.toUpperCase() + s.slice(1)).join("")
  return {
    "package.json": JSON.stringify(
      {
        name,
        version: "0.1.0",
        private: true,
        type: "module",
        scripts: {
          start: "tsx src/main.ts",
          test: "vitest run",
          typecheck: "tsc --noEmit"
        },
        dependencies: { rain: `^${versions.rain}`, effect: `^${versions.effect}` },
        devDependencies: {
          "@effect/vitest": "^0.30.0",
          "@types/node": "^20.19.0",
          tsx: "^4.20.0",
          typescript: "^5.9.0",
          vitest: "^3.2.0"
        }
      },
      null,
      2
    ) + "\n",
    "tsconfig.json": JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2022"],
          types: ["node"],
          strict: true,
          skipLibCheck: true,
          noEmit: true,
          isolatedModules: true
        },
        include: ["src", "test"]
      },
      null,
      2
    ) + "\n",
    "src/worker.ts": `/**
 * The worker: counts what it is told to add and answers how much it has.
 */
import { Effect, Schema } from "effect"
import { Process } from "rain"

/** Add to the count (a message: no answer). */
export class Add extends Schema.TaggedClass<Add>()("${name}/Add", { amount: Schema.Number }) {}

/** How much is counted (a call: answered with a number). */
export class Total extends Schema.TaggedRequest<Total>()("${name}/Total", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: {}
}) {}

export const Worker = Process.make({
  name: "Worker",
  init: (start: number) => Effect.succeed(start),
  handleMessage: (message: Add, count: number) => Effect.succeed(count + message.amount),
  handleCall: (_request: Total, _from, count: number) => Effect.succeed(Process.reply(count, count)),
  describe: (count: number) => \`count \${count}\`
})
`,
    "src/app.ts": `/**
 * The application: a one-for-one supervisor that keeps the worker running under the name
 * "worker", restarting it when it crashes (at most 5 times in 10 seconds).
 */
import { Application, Supervisor } from "rain"
import { Worker } from "./worker.js"

export const ${pascal}App = Application.make({
  name: "${name}",
  version: "0.1.0",
  description: "${name}, made with rain new",
  root: Supervisor.oneForOne({ intensity: 5, period: "10 seconds" }).pipe(
    Supervisor.child({ id: "worker", behaviour: Worker, args: 0, name: "worker" })
  )
})
`,
    "src/main.ts": `/**
 * Starts a node with the application and distribution on, so that \`rain ps\` can look at it:
 *
 *   npm start
 *   npx rain ps --node ${name}@127.0.0.1:4370 --cookie dev-cookie
 */
import { Effect } from "effect"
import { Node } from "rain"
import { ${pascal}App } from "./app.js"
import { Add } from "./worker.js"

Node.runMain("${name}@127.0.0.1", {
  applications: [${pascal}App],
  network: { cookie: process.env["RAIN_COOKIE"] ?? "dev-cookie", port: 4370, messages: [Add] }
}, (node) =>
  Effect.gen(function*() {
    yield* node.send("worker", new Add({ amount: 1 }))
    yield* Effect.log(\`${name} is running on \${node.address}; Ctrl-C stops it\`)
  }))
`,
    "test/app.test.ts": `import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { Application, Process, Testing } from "rain"
import { ${pascal}App } from "../src/app.js"
import { Add, Total, Worker } from "../src/worker.js"

describe("${name}", () => {
  it.scoped("the worker counts", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const worker = yield* env.spawn(Worker, 1)
      yield* env.send(worker, new Add({ amount: 2 }))
      assert.strictEqual(yield* env.call(worker, new Total()), 3)
    }))

  it.scoped("the supervisor restarts a crashed worker", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      yield* Application.start(env.node, ${pascal}App)
      const first = Option.getOrThrow(yield* env.node.whereis("worker"))
      yield* env.node.exit(first, Process.ExitReason.kill)
      yield* env.exitReason(first)
      let again = Option.none<Process.Pid>()
      for (let i = 0; i < 100 && (Option.isNone(again) || again.value.id === first.id); i++) {
        yield* Effect.sleep("10 millis")
        again = yield* env.node.whereis("worker")
      }
      assert.isTrue(Option.isSome(again) && again.value.id !== first.id)
    }), { timeout: 10_000 })
})
`,
    "README.md": `# ${name}

An application on [Rain](https://github.com/rain-actors/rain): a supervisor keeping a worker alive.

\`\`\`sh
npm install
npm start    # a node with the application, on 127.0.0.1:4370
npm test     # the tests, on Rain's test kit
\`\`\`

While it runs, look inside with \`npx rain ps --node ${name}@127.0.0.1:4370 --cookie dev-cookie\`
(\`rain tree\`, \`rain info\` and \`rain kill worker\` too).
`,
    ".gitignore": "node_modules\n"
  }
}

/** A project name npm accepts and a directory can have. */
export const validName = (name: string): boolean => /^[a-z][a-z0-9-]{0,213}$/.test(name)

/** Writes the project into `dir` (which must not exist or be empty); returns the files written. */
export const scaffold = (
  dir: string,
  name: string,
  versions: { readonly rain: string; readonly effect: string }
): ReadonlyArray<string> => {
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) throw new Error(`${dir} exists and is not empty`)
  const written: Array<string> = []
  for (const [file, text] of Object.entries(files(name, versions))) {
    const target = path.join(dir, file)
    fs.mkdirSync(path.dirname(target), { recursive: true })
    fs.writeFileSync(target, text)
    written.push(file)
  }
  return written
}
