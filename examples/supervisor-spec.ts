/**
 * Shared by examples/supervisor.ts and examples/application.ts: a supervisor of two
 * workers under one_for_one, permanent. A worker crashes and is restarted; its sibling
 * keeps its pid.
 */
import { Console, Effect, Schema } from "effect"
import { Process, Supervisor } from "rain"

export class Crash extends Schema.TaggedClass<Crash>()("Crash", {}) {}

export class Hello extends Schema.TaggedRequest<Hello>()("Hello", {
  failure: Schema.Never,
  success: Schema.String,
  payload: {}
}) {}

export const WorkerActor = Process.make({
  name: "WorkerActor",
  init: (config: string) => Console.log(`worker started with ${config}`).pipe(Effect.as(config)),
  handleCall: (_: Hello, _from, config) => Effect.succeed(Process.reply(`hello from ${config}`, config)),
  handleMessage: (_: Crash, config) => Effect.die(new Error(`${config} crashed`))
})

export const MySupervisor = Supervisor.oneForOne({ intensity: 3, period: "5 seconds" }).pipe(
  Supervisor.child({ id: "worker1", behaviour: WorkerActor, args: "worker1_config", restart: "permanent" }),
  Supervisor.child({ id: "worker2", behaviour: WorkerActor, args: "worker2_config", restart: "permanent" })
)

