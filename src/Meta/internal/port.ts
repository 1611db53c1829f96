/**
 * The port meta process (Erlang's ports): runs an OS process with `@effect/platform`
 * `Command` (`NodeCommandExecutor`), sends its output to the handler as `PortData` (lines
 * or chunks) and its end as `PortExited`, and writes `PortWrite` messages to its stdin.
 * When the OS process exits the port ends (`normal` for status 0, else an error, so links
 * fire); when the port ends the OS process gets SIGTERM, then SIGKILL. While the handler's
 * mailbox is full the port stops reading the OS process's output, so the pipe fills and
 * the OS process waits.
 *
 * @internal
 */
import { Command, CommandExecutor } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Duration, Effect, Exit, Fiber, Option, Queue, Runtime, Scope, Stream } from "effect"
import type { Scheduler } from "effect"
import type { Behaviour } from "../../Process/Behaviour.js"
import type { Context } from "../../Process/Context.js"
import * as Reason from "../../Process/ExitReason.js"
import type { Pid } from "../../Process/Pid.js"
import type { PortInfo, PortSpec } from "../types.js"
import { InvalidSpec, PortCloseInput, PortData, PortExited, PortWrite } from "../types.js"
import { ownedScope, roomWait } from "./resource.js"

/** Failed to start the OS process (no such command, a bad working directory). */
const startFailed = (spec: PortSpec, error: unknown) =>
  new InvalidSpec({
    kind: "Port",
    field: "command",
    reason: `could not be started (${spec.command}): ${error instanceof Error ? error.message : String(error)}`
  })

interface State {
  readonly scope: Scope.CloseableScope
  readonly process: CommandExecutor.Process
  readonly stdin: Queue.Queue<Uint8Array | null>
  readonly command: string
  readonly killMillis: number
  readonly handler: PortSpec["handler"]
  running: boolean
}

class Ended {
  constructor(readonly exited: PortExited) {}
}

const encoder = new TextEncoder()

/**
 * A Scheduler that runs each task the moment it is scheduled: a fiber on it resumes inside the
 * callback that resumed it (here, Node's `spawn` event) instead of a turn later.
 */
const atOnce: Scheduler.Scheduler = {
  scheduleTask: (task) => task(),
  shouldYield: () => false
}

const init = (spec: PortSpec, ctx: Context<any, any>) =>
  Effect.gen(function*() {
    if (spec === null || typeof spec !== "object" || typeof spec.command !== "string" || spec.command === "") {
      return yield* new InvalidSpec({ kind: "Port", field: "command", reason: "must be a non-empty string" })
    }
    if (spec.handler === undefined || spec.handler === null) {
      return yield* new InvalidSpec({ kind: "Port", field: "handler", reason: "is missing: give the process that gets the output" })
    }
    if (spec.output !== undefined && spec.output !== "lines" && spec.output !== "chunks") {
      return yield* new InvalidSpec({ kind: "Port", field: "output", reason: `must be "lines" or "chunks" (got ${String(spec.output)})` })
    }
    const scope = yield* ownedScope(ctx)
    let command = Command.make(spec.command, ...(spec.args ?? []))
    if (spec.cwd !== undefined) command = Command.workingDirectory(command, spec.cwd)
    if (spec.env !== undefined) command = Command.env(command, spec.env)
    const handler = spec.handler
    // Delivers one piece of output; while the handler's mailbox is full it waits (`roomWait`)
    // and the stream is not pulled, so the OS process blocks on a full pipe.
    const deliver = (stream: "stdout" | "stderr") => (data: string) =>
      Effect.gen(function*() {
        const message = new PortData({ port: ctx.self, stream, data }, true)
        let attempt = 0
        for (;;) {
          const result = yield* Effect.either(ctx.send(handler, message))
          if (result._tag === "Right" || result.left._tag !== "MailboxFull") return
          yield* roomWait(attempt++)
        }
      })
    const text = (bytes: Stream.Stream<Uint8Array, unknown>) =>
      spec.output === "chunks" ? Stream.decodeText(bytes) : Stream.splitLines(Stream.decodeText(bytes))
    // The readers must listen on the pipes before Node sees the OS process exit: Node discards
    // what nobody reads from an exited child (`flushStdio` resumes unread pipes), and on a busy
    // node a reader started a few scheduler turns after the spawn lost a short command's whole
    // output. So the code after the spawn runs inside Node's `spawn` callback, and the readers
    // (`Stream.runForEach` forks its pull loop) on `atOnce` too: they listen before it returns.
    const runtime = yield* Effect.runtime<never>()
    const reader = (stream: "stdout" | "stderr", bytes: Stream.Stream<Uint8Array, unknown>) =>
      Runtime.runFork(runtime)(Effect.withScheduler(Effect.ignore(Stream.runForEach(text(bytes), deliver(stream))), atOnce))
    const read = (process: CommandExecutor.Process) => [reader("stdout", process.stdout), reader("stderr", process.stderr)]
    const [process, readers] = yield* Command.start(command).pipe(
      Effect.map((process) => [process, read(process)] as const),
      Effect.withScheduler(atOnce),
      Scope.extend(scope),
      Effect.provide(NodeContext.layer),
      Effect.mapError((error) => startFailed(spec, error)),
      Effect.onError(() => Scope.close(scope, Exit.void))
    )
    yield* Scope.addFinalizer(scope, Fiber.interruptAll(readers))
    const stdin = yield* Queue.unbounded<Uint8Array | null>()
    const state: State = {
      scope,
      process,
      stdin,
      command: [spec.command, ...(spec.args ?? [])].join(" "),
      killMillis: Duration.toMillis(Duration.decode(spec.killTimeout ?? "2 seconds")),
      handler: spec.handler,
      running: true
    }
    // the end: all output delivered first, then the exit status
    yield* Effect.forkIn(
      Effect.zipRight(Fiber.joinAll(readers), Effect.exit(process.exitCode)).pipe(
        Effect.map((exit) => {
          const signal = Exit.isFailure(exit)
            ? /signal: (\w+)/.exec(String(Option.getOrUndefined(Exit.causeOption(exit)) ?? ""))?.[1] ?? "unknown"
            : null
          return new PortExited({ port: ctx.self, status: Exit.isSuccess(exit) ? exit.value : null, signal }, true)
        }),
        Effect.flatMap((exited) => ctx.send(ctx.self as Pid, new Ended(exited))),
        Effect.ignore
      ),
      scope
    )
    yield* Effect.forkIn(
      Stream.fromQueue(stdin).pipe(
        Stream.takeWhile((chunk): chunk is Uint8Array => chunk !== null),
        Stream.run(process.stdin),
        Effect.ignore
      ),
      scope
    )
    return state
  })

const handleMessage = (message: unknown, state: State, ctx: Context<any, any>) => {
  if (message instanceof PortWrite) {
    return Effect.as(
      Queue.offer(state.stdin, typeof message.data === "string" ? encoder.encode(message.data) : message.data),
      state
    )
  }
  if (message instanceof PortCloseInput) return Effect.as(Queue.offer(state.stdin, null), state)
  if (message instanceof Ended) {
    state.running = false
    const exited = message.exited
    return Effect.ignore(ctx.send(state.handler, exited)).pipe(
      Effect.zipRight(ctx.stop(exited.status === 0 ? Reason.normal : Reason.error(exited))),
      Effect.as(state)
    )
  }
  return Effect.as(Effect.logWarning(`Port ignored ${String(message)}: send Meta.PortWrite or Meta.PortCloseInput`), state)
}

/** Stops the OS process if it still runs: SIGTERM, SIGKILL after the kill timeout. */
const terminate = (_reason: Reason.ExitReason, state: State) =>
  Effect.gen(function*() {
    if (state.running) {
      yield* state.process.kill("SIGTERM").pipe(
        Effect.timeout(state.killMillis),
        Effect.catchAll(() => Effect.ignore(state.process.kill("SIGKILL")))
      )
    }
    yield* Scope.close(state.scope, Exit.void)
  })

/** @internal */
export const Port: Behaviour<State, PortSpec, PortWrite | PortCloseInput, never, InvalidSpec> = {
  name: "Port",
  init,
  handleMessage,
  terminate,
  describe: (state): PortInfo => ({
    kind: "Port",
    command: state.command,
    osPid: state.process.pid,
    running: state.running
  })
}
