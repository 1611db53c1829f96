/**
 * The observer's data access: one control-plane client (`Control.client`) per node, for
 * this node and every connected one, kept while in use and for a while after (`RcMap`),
 * dropped when its connection fails so that the next request connects again. A peer's
 * control plane is its listener: its address comes from the node's own routes, its
 * registrar, or the connection this node dialled to it.
 *
 * @internal
 */
import type { Scope } from "effect"
import { Duration, Effect, RcMap, Schema } from "effect"
import type { NodeService } from "../../Node/index.js"
import { Distribution } from "../../Node/internal/dist/connection.js"
import type { Kernel } from "../../Node/internal/kernel.js"
import { kernelOf } from "../../Node/internal/kernel.js"
import type { ConnectionInfo } from "../../Node/NetworkOptions.js"
import type { RpcClientError } from "@effect/rpc"
import { Control } from "../../Rpc/index.js"

/** A node the observer cannot reach right now (not connected, no address known, refused). */
export class NodeUnavailable extends Schema.TaggedError<NodeUnavailable>()("rain/Observer/NodeUnavailable", {
  node: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Cannot inspect ${this.node}: ${this.reason}`
  }
}

/** `host:port` (or `[v6]:port`, `memory:3`) into the control client's host and port. */
export const splitAddress = (address: string): { readonly host: string; readonly port: number } | undefined => {
  const at = address.lastIndexOf(":")
  if (at <= 0) return undefined
  const port = Number(address.slice(at + 1))
  if (!Number.isInteger(port) || port < 0) return undefined
  let host = address.slice(0, at)
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1)
  return { host, port }
}

const isRpcClientError = (e: unknown): e is { readonly message: string } =>
  typeof e === "object" && e !== null && (e as { readonly _tag?: unknown })._tag === "RpcClientError"

export interface Clients {
  /** This node's name. */
  readonly self: string
  /** This node and the connected ones, this node first. */
  readonly nodes: Effect.Effect<ReadonlyArray<string>>
  /** Runs `f` with the client of `node`; a failed connection is dropped and reported. */
  readonly use: <A, E>(
    node: string,
    f: (client: Control.Client) => Effect.Effect<A, E>
  ) => Effect.Effect<A, Exclude<E, RpcClientError.RpcClientError> | NodeUnavailable>
}

/** What the observer needs of its node: a node service's or, inside a process, its kernel's. */
interface NodeView {
  readonly name: string
  readonly address: string
  readonly nodes: Effect.Effect<ReadonlyArray<string>>
  readonly connections: Effect.Effect<{ readonly peers: ReadonlyArray<ConnectionInfo> }>
}

const noNetwork = (name: string) =>
  `${name} has no network, and the observer reads nodes through their control plane: ` +
  `start the node with network options (a cookie and a port, 0 for a free one)`

/** The clients of a node service's node. */
export const make = (node: NodeService): Effect.Effect<Clients, string, Scope.Scope> =>
  Effect.suspend(() => {
    const dist = kernelOf(node).remote
    if (!(dist instanceof Distribution) || node.address === "") return Effect.fail(noNetwork(node.name))
    return makeWith(node, dist)
  })

/** The clients of the node a kernel runs (for the observer as a process). */
export const fromKernel = (kernel: Kernel): Effect.Effect<Clients, string, Scope.Scope> =>
  Effect.suspend(() => {
    const dist = kernel.remote
    if (!(dist instanceof Distribution) || dist.address === "") return Effect.fail(noNetwork(kernel.name))
    return makeWith({
      name: kernel.name,
      address: dist.address,
      nodes: Effect.sync(() => dist.nodes()),
      connections: Effect.sync(() => ({ peers: dist.peers.connections() }))
    }, dist)
  })

const makeWith = (node: NodeView, dist: Distribution): Effect.Effect<Clients, never, Scope.Scope> =>
  Effect.gen(function*() {
    const options = dist.options

    /** Where `name`'s listener (and so its control plane) is. */
    const addressOf = (name: string): Effect.Effect<string, NodeUnavailable> =>
      Effect.gen(function*() {
        if (name === node.name) return node.address
        const route = options.routes?.[name]
        if (typeof route === "string") return route
        if (route !== undefined) return `${route.host}:${route.port}`
        if (options.registrar !== undefined) {
          const found = yield* options.registrar.lookup(name).pipe(Effect.orElseSucceed(() => undefined))
          if (found !== undefined) return `${found.host}:${found.port}`
        }
        const connections = yield* node.connections
        const dialled = connections.peers.find((c) => c.node === name && c.dialled === "this node")
        if (dialled !== undefined) return dialled.address
        const known = connections.peers.some((c) => c.node === name)
        return yield* new NodeUnavailable({
          node: name,
          reason: known
            ? "it dialled this node and its listen address is unknown here: give this node a route to it " +
              "(network.routes) or use a registrar"
            : "it is not connected to this node"
        })
      })

    const connect = (name: string): Effect.Effect<Control.Client, NodeUnavailable, Scope.Scope> =>
      Effect.gen(function*() {
        const address = yield* addressOf(name)
        const split = splitAddress(address)
        if (split === undefined) {
          return yield* new NodeUnavailable({ node: name, reason: `its address ${address} is not host:port` })
        }
        return yield* Control.client({
          host: split.host,
          port: split.port,
          cookie: options.cookie,
          node: name,
          transport: dist.transport,
          timeout: "5 seconds"
        }).pipe(Effect.mapError((e) => new NodeUnavailable({ node: name, reason: e.message })))
      })

    const map = yield* RcMap.make({ lookup: connect, idleTimeToLive: Duration.seconds(30) })

    const use = <A, E>(
      name: string,
      f: (client: Control.Client) => Effect.Effect<A, E>
    ): Effect.Effect<A, Exclude<E, RpcClientError.RpcClientError> | NodeUnavailable> =>
      Effect.scoped(
        Effect.flatMap(RcMap.get(map, name), (client) =>
          f(client).pipe(
            Effect.timeoutFail({
              duration: "10 seconds",
              onTimeout: () => new NodeUnavailable({ node: name, reason: "no answer from its control plane in 10 s" })
            }),
            Effect.catchAll((e: E | NodeUnavailable): Effect.Effect<never, Exclude<E, RpcClientError.RpcClientError> | NodeUnavailable> => {
              if (e instanceof NodeUnavailable) return Effect.zipRight(RcMap.invalidate(map, name), Effect.fail(e))
              if (isRpcClientError(e)) {
                const reason = `its control connection failed: ${e.message}`
                return Effect.zipRight(RcMap.invalidate(map, name), Effect.fail(new NodeUnavailable({ node: name, reason })))
              }
              return Effect.fail(e as Exclude<E, RpcClientError.RpcClientError>)
            })
          ))
      )

    return {
      self: node.name,
      nodes: Effect.map(node.nodes, (peers) => [node.name, ...peers.filter((n) => n !== node.name)]),
      use
    }
  })
