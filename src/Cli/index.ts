/**
 * The `rain` command line: `rain ping`, `rain info`, `rain ps`, `rain tree`, `rain kill` against
 * a running node's control plane (`rain/Rpc` Control), `rain observer` (the web observer on this
 * machine against a running node), and `rain new` to start a project. Built
 * on `@effect/cli`; every command has `--help`. A wrong cookie or an unreachable node is
 * one line on stderr and exit code 1.
 *
 * ```sh
 * npx rain ps --node app@127.0.0.1:4370 --cookie secret   # top-like; --once for one table
 * npx rain new my-app                                      # a new project
 * ```
 *
 * @since 0.2.0
 */
import { Args, Command, Options } from "@effect/cli"
import { RpcClientError } from "@effect/rpc"
import { Console, Deferred, Effect, Logger, LogLevel, Option, Schema } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Node from "../Node/index.js"
import * as Control from "../Rpc/Control.js"
import * as environment from "./internal/environment.js"
import { nodeInfo, processTable, trees } from "./internal/format.js"
import { scaffold, validName } from "./internal/scaffold.js"

/**
 * A command line argument the command cannot use; the message says what to give instead.
 *
 * @since 0.2.0
 * @category errors
 */
export class UsageError extends Schema.TaggedError<UsageError>()("rain/Cli/UsageError", {
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

const manifest = (): { readonly version: string; readonly peerDependencies: Record<string, string> } => {
  try {
    return JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8"))
  } catch {
    return { version: "0.0.0", peerDependencies: {} }
  }
}

/**
 * Where a node is: `name@host:port` (the name is checked) or `host:port`.
 *
 * @since 0.2.0
 * @category parsing
 */
export const parseNode = (
  text: string
): Effect.Effect<{ readonly host: string; readonly port: number; readonly node?: string | undefined }, UsageError> => {
  const i = text.lastIndexOf(":")
  const port = i < 0 ? NaN : Number(text.slice(i + 1))
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    return Effect.fail(
      new UsageError({ detail: `--node ${JSON.stringify(text)} is not name@host:port or host:port (e.g. app@127.0.0.1:4370)` })
    )
  }
  const before = text.slice(0, i)
  const at = before.indexOf("@")
  if (at < 0) return Effect.succeed({ host: before.replace(/^\[(.*)\]$/, "$1"), port })
  const host = before.slice(at + 1).replace(/^\[(.*)\]$/, "$1")
  if (at === 0 || host.length === 0) {
    return Effect.fail(new UsageError({ detail: `--node ${JSON.stringify(text)}: the node name needs a name and a host` }))
  }
  return Effect.succeed({ host, port, node: before })
}

const nodeOption = Options.text("node").pipe(
  Options.withAlias("n"),
  Options.withDescription("The node: name@host:port (its name is checked) or host:port. Default 127.0.0.1:4370."),
  Options.withDefault("127.0.0.1:4370")
)
const cookieOption = Options.text("cookie").pipe(
  Options.withAlias("c"),
  Options.withDescription("The node's cookie (default: the RAIN_COOKIE environment variable)."),
  Options.optional
)
const connection = { node: nodeOption, cookie: cookieOption }

/** The cookie: `--cookie`, or RAIN_COOKIE. */
const cookieOf = (option: Option.Option<string>): Effect.Effect<string, UsageError> => {
  const cookie = Option.getOrUndefined(option) ?? process.env["RAIN_COOKIE"]
  return cookie === undefined || cookie === ""
    ? Effect.fail(new UsageError({ detail: "No cookie: pass --cookie or set RAIN_COOKIE to the node's cookie." }))
    : Effect.succeed(cookie)
}

/** Runs `f` with a control client of the node the options name. */
const withClient = <A, E>(
  options: { readonly node: string; readonly cookie: Option.Option<string> },
  f: (client: Control.Client) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const where = yield* parseNode(options.node)
    const cookie = yield* cookieOf(options.cookie)
    return yield* Effect.scoped(Effect.flatMap(Control.client({ ...where, cookie }), f))
  })

const ping = Command.make("ping", connection, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      const started = performance.now()
      const pong = yield* client.Ping()
      yield* Console.log(`pong from ${pong.node} (creation ${pong.creation}) in ${(performance.now() - started).toFixed(1)} ms`)
    }))).pipe(Command.withDescription("Checks that a node answers and the cookie is right."))

const info = Command.make("info", connection, (o) =>
  withClient(o, (client) => Effect.flatMap(client.Info(), (i) => Console.log(nodeInfo(i))))).pipe(
    Command.withDescription("The node's figures (processes, messages, memory) and its connections to other nodes.")
  )

const ps = Command.make("ps", {
  ...connection,
  sort: Options.choice("sort", ["mailbox", "messages", "rate", "memory", "status", "pid"]).pipe(
    Options.withAlias("s"),
    Options.withDescription(
      "Sort by mailbox depth (default), handled messages, messages per second (rate), memory estimate, status or pid."
    ),
    Options.withDefault("mailbox" as const)
  ),
  limit: Options.integer("limit").pipe(
    Options.withAlias("l"),
    Options.withDescription("Rows to show, 1-1000 (default: what fits the terminal, else 20)."),
    Options.optional
  ),
  name: Options.text("name").pipe(Options.withDescription("Only processes whose name or pid contains this."), Options.optional),
  behaviour: Options.text("behaviour").pipe(
    Options.withAlias("b"),
    Options.withDescription("Only processes whose behaviour contains this."),
    Options.optional
  ),
  once: Options.boolean("once").pipe(Options.withDescription("Print one table and exit instead of refreshing every second."))
}, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      const tty = process.stdout.isTTY === true
      const limit = Option.getOrElse(o.limit, () => (tty ? Math.max(5, (process.stdout.rows ?? 24) - 4) : 20))
      if (limit < 1 || limit > 1000) return yield* new UsageError({ detail: `--limit ${limit}: give 1 to 1000 rows` })
      const frame = Effect.map(
        client.Processes({
          sort: o.sort,
          limit,
          name: Option.getOrUndefined(o.name),
          behaviour: Option.getOrUndefined(o.behaviour)
        }),
        (page) => processTable(client.node, page, o.sort)
      )
      if (o.once) return yield* Effect.flatMap(frame, Console.log)
      yield* top(frame, tty)
    }))).pipe(
    Command.withDescription(
      "The node's processes, top-like: sorted, refreshing every second until q or Ctrl-C (--once: one table)."
    )
  )

/** Shows `frame` every second until q, Ctrl-C or the end of stdin's q line. */
const top = <E>(frame: Effect.Effect<string, E>, tty: boolean) =>
  Effect.gen(function*() {
    const quit = yield* Deferred.make<void>()
    const stdin = process.stdin
    const raw = tty && stdin.isTTY === true
    const onData = (chunk: Buffer | string) => {
      const text = chunk.toString()
      if (text.includes("q") || text.includes("\x03")) Deferred.unsafeDone(quit, Effect.void)
    }
    const onSignal = () => Deferred.unsafeDone(quit, Effect.void)
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        if (raw) stdin.setRawMode(true)
        stdin.on("data", onData)
        stdin.resume()
        process.on("SIGINT", onSignal)
      }),
      () =>
        Effect.sync(() => {
          stdin.off("data", onData)
          if (raw) stdin.setRawMode(false)
          stdin.pause()
          process.off("SIGINT", onSignal)
        })
    )
    while (!(yield* Deferred.isDone(quit))) {
      const text = yield* frame
      yield* Console.log((tty ? "\x1b[H\x1b[2J" : "\f\n") + text + "\n(q or Ctrl-C to quit)")
      yield* Effect.raceFirst(Effect.sleep("1 second"), Deferred.await(quit))
    }
  }).pipe(Effect.scoped)

const tree = Command.make("tree", connection, (o) =>
  withClient(o, (client) => Effect.flatMap(client.Tree(), (apps) => Console.log(trees(apps))))).pipe(
    Command.withDescription("Each application on the node and its supervision tree, with restart counts.")
  )

const kill = Command.make("kill", {
  ...connection,
  reason: Options.text("reason").pipe(
    Options.withAlias("r"),
    Options.withDescription("The exit reason: kill (default, cannot be trapped), shutdown, normal, or any text (an error)."),
    Options.withDefault("kill")
  ),
  process: Args.text({ name: "pid|name" }).pipe(Args.withDescription("A pid (<node.id.creation> or its id) or a registered name."))
}, (o) =>
  withClient(o, (client) =>
    Effect.gen(function*() {
      const detail = yield* client.Process({ process: o.process, stateLimit: 16 })
      yield* client.Exit({ process: detail.row.pid, reason: o.reason })
      yield* Console.log(`sent ${o.reason} to ${detail.row.name === undefined ? "" : `${detail.row.name} `}${detail.row.pid}`)
    }))).pipe(Command.withDescription("Sends an exit signal to a process (kill by default)."))

const observer = Command.make("observer", {
  ...connection,
  port: Options.integer("port").pipe(
    Options.withAlias("p"),
    Options.withDescription("The port the observer serves on (default 0: a free one; the URL says which)."),
    Options.withDefault(0)
  ),
  host: Options.text("host").pipe(
    Options.withDescription("The address it binds (default 127.0.0.1: only this machine reaches it)."),
    Options.withDefault("127.0.0.1")
  ),
  actions: Options.boolean("actions").pipe(
    Options.withDescription("Allow kill and send from the page (it is read-only without this).")
  )
}, (o) =>
  Effect.gen(function*() {
    const where = yield* parseNode(o.node)
    const cookie = yield* cookieOf(o.cookie)
    // The node's name: given, or asked of its control plane (which also checks the cookie).
    const remote = where.node ??
      (yield* Effect.scoped(Effect.flatMap(Control.client({ ...where, cookie }), (client) => client.Ping()))).node
    // Loaded here, not with the other commands: it needs @effect/platform-node.
    const Observer = yield* Effect.tryPromise({
      try: () => import("../Observer/index.js"),
      catch: (e) =>
        new UsageError({
          detail: `rain observer needs @effect/platform-node beside rain (npm install @effect/platform-node): ${
            e instanceof Error ? e.message : String(e)
          }`
        })
    })
    yield* Effect.scoped(Effect.gen(function*() {
      // A node of its own on this machine, connected to the one to observe: the observer
      // reads that node (and every node it connects to) through their control planes.
      const local = yield* Node.start(`rain-observer-${process.pid}@127.0.0.1`, {
        // no log level of its own: the command line's (none) holds, so a failure is the command's one line
        network: { cookie, port: 0, routes: { [remote]: `${where.host}:${where.port}` } }
      })
      yield* local.connect(remote)
      const served = yield* Observer.start(local, { port: o.port, host: o.host, readOnly: !o.actions })
      yield* Console.log(`observer of ${remote} at ${served.url}`)
      return yield* Effect.never
    }))
  })).pipe(
  Command.withDescription(
    "Starts the web observer on this machine against a running node (a node of its own, connected to it); prints the URL and serves until Ctrl-C."
  )
)

const newProject = Command.make("new", {
  dir: Options.directory("dir").pipe(
    Options.withDescription("Where to write the project (default: ./<app>)."),
    Options.optional
  ),
  app: Args.text({ name: "app" }).pipe(Args.withDescription("The project's name: lower case letters, digits and -."))
}, (o) =>
  Effect.gen(function*() {
    if (!validName(o.app)) {
      return yield* new UsageError({
        detail: `${JSON.stringify(o.app)} is not a project name: use lower case letters, digits and - (e.g. my-app)`
      })
    }
    const dir = path.resolve(Option.getOrElse(o.dir, () => o.app))
    const m = manifest()
    const effect = (m.peerDependencies["effect"] ?? "^3.22.2").replace(/^\^/, "")
    const written = yield* Effect.try({
      try: () => scaffold(dir, o.app, { rain: m.version, effect }),
      catch: (e) => new UsageError({ detail: `cannot write the project: ${e instanceof Error ? e.message : String(e)}` })
    })
    yield* Console.log(
      `created ${o.app} in ${dir}: ${written.join(", ")}\n\n  cd ${path.relative(process.cwd(), dir) || "."}\n  npm install\n  npm start\n`
    )
  })).pipe(
  Command.withDescription(
    "Creates a project: package.json with Rain, an application with a supervisor and a worker, a test, a README."
  )
)

/**
 * The `rain` command and its subcommands.
 *
 * @since 0.2.0
 * @category commands
 */
export const command = Command.make("rain").pipe(
  Command.withDescription("Rain's command line: look inside a running node, or start a project."),
  Command.withSubcommands([ping, info, ps, tree, kill, observer, newProject])
)

/**
 * Runs the command line on `argv` (`process.argv`): prints a failure as one line on stderr and
 * resolves with the exit code (0, or 1 on any failure).
 *
 * @since 0.2.0
 * @category running
 */
export const run = (argv: ReadonlyArray<string>): Promise<number> =>
  Command.run(command, { name: "rain", version: manifest().version })(argv).pipe(
    Effect.as(0),
    Effect.catchAll((error) => {
      // @effect/cli prints its own validation errors (with the usage).
      if (typeof error === "object" && error !== null && "_tag" in error && isValidationError(error)) return Effect.succeed(1)
      return Effect.as(Console.error(`rain: ${oneLine(error)}`), 1)
    }),
    Effect.catchAllDefect((defect) => Effect.as(Console.error(`rain: ${oneLine(defect)}`), 1)),
    // What goes wrong is the one line above; the control client's own log lines (a refused
    // handshake is a WARN on the wire) would print a second one.
    Logger.withMinimumLogLevel(LogLevel.None),
    Effect.provide(environment.layer),
    Effect.runPromise
  )

const validationTags = new Set([
  "CommandMismatch",
  "CorrectedFlag",
  "HelpRequested",
  "InvalidArgument",
  "InvalidValue",
  "MissingValue",
  "MissingFlag",
  "MultipleValuesDetected",
  "MissingSubcommand",
  "NoBuiltInMatch",
  "UnclusteredFlag"
])

const isValidationError = (error: { readonly _tag: unknown }): boolean => validationTags.has(String(error._tag))

const oneLine = (error: unknown): string => {
  if (error instanceof RpcClientError.RpcClientError) {
    return `lost the connection to the node (${error.message}); is it still running?`
  }
  const text = error instanceof Error ? error.message : String(error)
  return text.replace(/\s*\n\s*/g, " ").trim()
}

/**
 * The bin's entry: runs `run(process.argv)` and exits with its code.
 *
 * @since 0.2.0
 * @category running
 */
export const main = (argv: ReadonlyArray<string>): void => {
  run(argv).then((code) => process.exit(code), (e) => {
    console.error(`rain: ${oneLine(e)}`)
    process.exit(1)
  })
}
