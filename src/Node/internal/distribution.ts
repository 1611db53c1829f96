/**
 * The distribution part of a node: starting the network with the node (listener,
 * registrar, `kernel.remote`), remote spawn, and the network methods of `NodeService`
 * (connect, disconnect, nodes, monitorNode, spawnRemote, startRemoteApplication). A
 * node without `network` options gets the same methods, answering `NotDistributed` or
 * "not connected".
 *
 * @internal
 */
import type { Runtime, Scope } from "effect"
import { Duration, Effect, Option, Stream } from "effect"
import { NoConnection, NotDistributed, SpawnRefused } from "../../Process/errors.js"
import { NodeDown } from "../../Process/Message.js"
import type { Pid } from "../../Process/Pid.js"
import type { Registrar } from "../../Registry/Registrar.js"
import { make as makeRegistrar } from "../../Registry/Registrar.js"
import type { NodeService } from "../index.js"
import { NetworkError } from "../NetworkOptions.js"
import type { NetworkOptions } from "../NetworkOptions.js"
import { Distribution } from "./dist/connection.js"
import type { Kernel } from "./kernel.js"
import { makeLocal } from "./local.js"
import type { SpawnRequest } from "./remote.js"

/** A duration option's range: a reason it is outside, or undefined. */
type Range = (millis: number) => string | undefined
const positive: Range = (millis) => (Number.isFinite(millis) && millis > 0 ? undefined : "must be finite and positive")
/** `network.busyWait`: zero (off) up to 10 ms; a longer spin would only burn CPU. */
const upTo10Millis: Range = (millis) => (millis >= 0 && millis <= 10 ? undefined : "must be between 0 and 10 millis")

/** Why a duration option cannot be used (not a duration, or outside its range), or undefined. */
const durationProblem = (
  input: Duration.DurationInput | undefined,
  range: Range = positive,
  example = `"5 seconds" or Duration.seconds(5)`
): string | undefined => {
  if (input === undefined) return undefined
  const decoded = Duration.decodeUnknown(input)
  if (Option.isNone(decoded)) return `is not a duration: ${JSON.stringify(String(input))} (use e.g. ${example})`
  const outside = range(Duration.toMillis(decoded.value))
  return outside === undefined ? undefined : `${outside}, got ${Duration.format(decoded.value)}`
}

/** Where a distributed node keeps its registrar (`Kernel.extensions`), for the applications to announce themselves. */
export const registrarKey = "rain/Registrar"

/** The registrar of a node, if it has one. */
export const registrarOf = (kernel: Kernel): Registrar | undefined => kernel.extensions.get(registrarKey) as Registrar | undefined

/**
 * A node the registrar says has left (for etcd: its lease expired, it stopped renewing it) is
 * treated as down: the connection to it is closed, so links and monitors fire and node
 * monitors get `NodeDown`, without waiting for the tick timeout.
 */
const followMembership = (kernel: Kernel, registrar: Registrar, dist: Distribution) =>
  Stream.runForEach(registrar.events, (event) =>
    event._tag === "NodeLeft" && event.node !== kernel.name && dist.isConnected(event.node)
      ? Effect.zipRight(
        Effect.logWarning(`registrar: ${event.node} left the cluster; disconnecting from it`),
        Effect.sync(() => dist.disconnect(event.node))
      )
      : Effect.void)

/** Starts listening, registers with the registrar, installs `kernel.remote`; the scope stops it all. */
export const startDistribution = (
  kernel: Kernel,
  options: NetworkOptions,
  runtime: Runtime.Runtime<any>,
  maxMessageSize: number
): Effect.Effect<Distribution, NetworkError, Scope.Scope> =>
  Effect.gen(function*() {
    const failed = (error: unknown) =>
      new NetworkError({ node: kernel.name, reason: error instanceof Error ? error.message : String(error) })
    for (const key of ["connectTimeout", "tickTime"] as const) {
      const problem = durationProblem(options[key])
      if (problem !== undefined) return yield* failed(`network.${key} ${problem}`)
    }
    const busyWait = durationProblem(options.busyWait, upTo10Millis, `"100 micros", or 0 to turn it off`)
    if (busyWait !== undefined) return yield* failed(`network.busyWait ${busyWait}`)
    // A registrar with only register/lookup/close gets the cluster operations in memory.
    const registrar = options.registrar === undefined
      ? undefined
      : makeRegistrar(options.registrar, () => Object.keys(options.routes ?? {}))
    const dist = new Distribution(makeLocal(kernel), { ...options, registrar }, runtime, maxMessageSize)
    // Finalizers run in reverse: connections end (queued frames written) before the listener closes.
    if (registrar !== undefined) yield* Effect.addFinalizer(() => registrar.close)
    yield* dist.listen().pipe(Effect.mapError(failed))
    yield* Effect.addFinalizer(() => Effect.sync(() => dist.stop()))
    if (registrar !== undefined) {
      yield* registrar.register(kernel.name, dist.port).pipe(Effect.mapError(failed))
      kernel.extensions.set(registrarKey, registrar)
      yield* Effect.forkScoped(followMembership(kernel, registrar, dist))
    }
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
  options: SpawnRequest
): Effect.Effect<Pid, SpawnRefused | NotDistributed> =>
  Effect.suspend((): Effect.Effect<Pid, SpawnRefused | NotDistributed> => {
    const remote = kernel.remote
    if (remote === undefined) return Effect.fail(new NotDistributed({ node: kernel.name }))
    if (node === kernel.name) {
      return Effect.fail(new SpawnRefused({ node, behaviour, reason: "that is this node: spawn the behaviour itself" }))
    }
    return Effect.flatMap(Effect.promise(() => remote.spawn(node, behaviour, args, options)), (exit) =>
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

/** The network methods of a node service. */
export type NetworkService = Pick<
  NodeService,
  | "port"
  | "address"
  | "connect"
  | "disconnect"
  | "nodes"
  | "connections"
  | "monitorNode"
  | "spawnRemote"
  | "startRemoteApplication"
>

/** The network methods of a node, over its distribution (undefined: a node without network). */
export const networkService = (kernel: Kernel, dist: Distribution | undefined): NetworkService => ({
  port: dist?.port ?? 0,
  address: dist?.address ?? "",
  connect: (node) =>
    dist === undefined
      ? Effect.fail(new NotDistributed({ node: kernel.name }))
      : Effect.flatMap(Effect.promise(() => dist.connect(node)), (reason) =>
        reason === undefined ? Effect.void : Effect.fail(new NoConnection({ node, reason }))),
  disconnect: (node) => Effect.sync(() => dist?.disconnect(node)),
  nodes: Effect.sync(() => dist?.nodes() ?? []),
  connections: Effect.sync(() => {
    const peers = dist?.peers.connections() ?? []
    return { count: peers.length, maxNodes: dist?.maxNodes ?? 0, peers }
  }),
  monitorNode: (node) =>
    dist === undefined || !dist.isConnected(node)
      ? Effect.succeed(new NodeDown({ node, reason: "not connected" }, true))
      : Effect.async<NodeDown>((resume) => {
        const listeners = dist.peers.downListeners
        const listener = (down: string, reason: string) => {
          if (down !== node) return
          listeners.delete(listener)
          resume(Effect.succeed(new NodeDown({ node, reason }, true)))
        }
        listeners.add(listener)
        return Effect.sync(() => listeners.delete(listener))
      }),
  startRemoteApplication: (node, application) =>
    dist === undefined
      ? Effect.fail(new NotDistributed({ node: kernel.name }))
      : Effect.flatMap(Effect.promise(() => dist.startRemoteApplication(node, application)), (reason) =>
        reason === undefined ? Effect.void : Effect.fail(new SpawnRefused({ node, behaviour: application, reason }))),
  spawnRemote: (node, behaviour, args, options) => spawnRemote(kernel, node, behaviour, args, { name: options?.name })
})
