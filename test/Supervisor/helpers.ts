import { Effect } from "effect"
import type { Process as P } from "../../src/index.js"
import type * as Testing from "../testing.js"
import { Process, Supervisor } from "../../src/index.js"

/** Commands a test worker obeys. */
export type WorkerCommand = "crash" | "normal" | "shutdown"

/** Tells the probe when it starts (`started <id>`); crashes or stops on command. */
export const Worker = Process.make({
  name: "Worker",
  init: (args: { readonly id: string; readonly probe: P.Pid }, ctx) =>
    Effect.as(ctx.send(args.probe, `started ${args.id}`), args),
  handleMessage: (command: WorkerCommand, state, ctx) => {
    switch (command) {
      case "crash":
        return Effect.fail(`${state.id} crashed`)
      case "normal":
        return Effect.as(ctx.stop(Process.ExitReason.normal), state)
      case "shutdown":
        return Effect.as(ctx.stop(Process.ExitReason.shutdown), state)
    }
  },
  handleCall: (_: "ping", _from, state) => Effect.succeed(Process.reply("pong", state))
})

/**
 * Traps exits, and its terminate never finishes: asked to shut down by its supervisor
 * (its parent), it hangs in terminate until the shutdown timeout kills it.
 */
export const Stubborn = Process.make({
  name: "Stubborn",
  options: { trapExit: true },
  init: () => Effect.void,
  handleInfo: (_info, state) => Effect.succeed(state),
  terminate: () => Effect.never
})

/** Fails in init. */
export const Broken = Process.make({ name: "Broken", init: (): Effect.Effect<void, string> => Effect.fail("missing config") })

/** The pid of a supervisor's child, by id (undefined when it is not running). */
export const childPid = (env: Testing.TestEnv, sup: P.Pid, id: string) =>
  Effect.map(Supervisor.whichChildren(env.node, sup), (children) => children.find((c) => c.id === id)?.pid)
