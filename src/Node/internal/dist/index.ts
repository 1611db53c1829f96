/**
 * Starting and stopping distribution for a node.
 *
 * @internal
 */
import type { Runtime, Scope } from "effect"
import { Effect, Schema } from "effect"
import { NotDistributed, SpawnRefused } from "../../../Process/errors.js"
import type { Pid, Reference } from "../../../Process/Pid.js"
import type { Kernel } from "../kernel.js"
import type { NetworkOptions } from "./connection.js"
import { Distribution } from "./connection.js"

export type { NetworkOptions } from "./connection.js"
export { Distribution } from "./connection.js"
export { TypeNotRegistered } from "../../../Message/internal/codec.js"
export type { WireClass } from "../../../Message/internal/codec.js"
export { NotDistributed, SpawnRefused } from "../../../Process/errors.js"

/**
 * The node could not start listening (or register with its registrar).
 *
 * @since 0.1.0
 */
export class NetworkError extends Schema.TaggedError<NetworkError>()("NetworkError", {
  node: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Node ${this.node} could not start its network: ${this.reason}. Check network.host/port (port 0 picks a free one) and the registrar port.`
  }
}

/** Starts listening, registers with the registrar, installs `kernel.remote`; the scope stops it all. */
export const startDistribution = (
  kernel: Kernel,
  options: NetworkOptions,
  runtime: Runtime.Runtime<any>,
  maxMessageSize: number
): Effect.Effect<Distribution, NetworkError, Scope.Scope> =>
  Effect.gen(function*() {
    const dist = new Distribution(kernel, options, runtime, maxMessageSize)
    const failed = (error: unknown) =>
      new NetworkError({ node: kernel.name, reason: error instanceof Error ? error.message : String(error) })
    // Finalizers run in reverse: connections end (queued frames written) before the listener closes.
    if (options.registrar !== undefined) yield* Effect.addFinalizer(() => options.registrar!.close)
    yield* dist.listen().pipe(Effect.mapError(failed))
    yield* Effect.addFinalizer(() => Effect.sync(() => dist.stop()))
    if (options.registrar !== undefined) yield* options.registrar.register(kernel.name, dist.port).pipe(Effect.mapError(failed))
    kernel.remote = dist
    return dist
  })

/**
 * Spawns a behaviour another node allows, optionally linked to or monitored by a local
 * process from the start (set up on that node before it answers).
 */
export const spawnRemote = (
  kernel: Kernel,
  node: string,
  behaviour: string,
  args: unknown,
  options: {
    readonly name?: string | undefined
    readonly link?: Pid | undefined
    readonly monitor?: readonly [Pid, Reference] | undefined
  }
): Effect.Effect<Pid, SpawnRefused | NotDistributed> =>
  Effect.suspend((): Effect.Effect<Pid, SpawnRefused | NotDistributed> => {
    const dist = kernel.remote as Distribution | undefined
    if (dist === undefined) return Effect.fail(new NotDistributed({ node: kernel.name }))
    if (node === kernel.name) {
      return Effect.fail(new SpawnRefused({ node, behaviour, reason: "that is this node: spawn the behaviour itself" }))
    }
    return Effect.flatMap(Effect.promise(() => dist.spawn(node, behaviour, args, options)), (exit) =>
      exit._tag === "Success"
        ? Effect.succeed(exit.value)
        : Effect.fail(
          exit.cause._tag === "Fail" && exit.cause.error instanceof SpawnRefused
            ? exit.cause.error
            : new SpawnRefused({
              node,
              behaviour,
              reason: exit.cause._tag === "Fail" && exit.cause.error instanceof Error ? exit.cause.error.message : String(exit.cause)
            })
        ))
  })
