/**
 * An etcd registrar: nodes across machines find each other, their applications and a shared
 * configuration through etcd (as Ergo's etcd registrar does). Each node holds a lease with a
 * TTL, kept alive while it lives, with its address and its running applications' routes under
 * it; every node watches the cluster's keys. A node whose lease expires (it died, or lost etcd
 * for longer than the TTL) is seen to leave by the others, which disconnect from it: links,
 * monitors and node monitors fire. Losing etcd is logged, retried on a `Schedule`, and shows as
 * a `RegistrarError` from `status` and from writes; lookups keep answering from the last known
 * cluster. On reconnection the node registers again and the events it missed are delivered.
 *
 * Needs the `etcd3` package (an optional peer dependency of Rain).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Node } from "rain"
 * import * as Etcd from "rain/Etcd"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const registrar = Etcd.registrar({ endpoints: ["127.0.0.1:2379"], ttl: "5 seconds" })
 *   const node = yield* Node.start("api@10.0.0.5", { network: { cookie: "secret", host: "0.0.0.0", registrar } })
 *   const workers = yield* registrar.resolveApplication("worker")
 * }))
 * ```
 * @since 0.2.0
 */
import type { Schedule } from "effect"
import type { Effect } from "effect"
import { Duration, Option } from "effect"
import type { Registrar, RegistrarError } from "../Registry/Registrar.js"
import * as internal from "./internal/registrar.js"

/**
 * Options of the etcd registrar.
 *
 * @since 0.2.0
 * @category models
 */
export interface Options {
  /** etcd's client URLs or `host:port`s, e.g. `["127.0.0.1:2379"]`. */
  readonly endpoints: string | ReadonlyArray<string>
  /** Name of the cluster: its keys live under `rain/<cluster>/` (default "default"), so clusters can share an etcd. */
  readonly cluster?: string | undefined
  /** The lease's TTL, whole seconds, at least 1 (default 10 seconds): how long a dead node stays listed. */
  readonly ttl?: Duration.DurationInput | undefined
  /** How attempts to reach etcd are spaced after a failure (default: exponential from 100 ms, at most 2 s apart, jittered, forever). */
  readonly retry?: Schedule.Schedule<unknown, RegistrarError> | undefined
  /** How long one request to etcd may take (default 5 seconds). */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /** How long registering may wait for a first connection to etcd before the node fails to start (default 10 seconds). */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** Answer lookups from the watched copy of the cluster, asking etcd on a miss (default true); false reads etcd for each. */
  readonly cache?: boolean | undefined
  /** The address other nodes dial to reach this one (default: the host part of the node's name). */
  readonly host?: string | undefined
}

/**
 * A {@link Registrar} backed by etcd, with its connection's health.
 *
 * @since 0.2.0
 * @category models
 */
export interface EtcdRegistrar extends Registrar {
  /** Succeeds while connected to etcd; fails with the last error while not (or before registering). */
  readonly status: Effect.Effect<void, RegistrarError>
}

const problemOf = (options: Options): string | undefined => {
  const endpoints = typeof options.endpoints === "string" ? [options.endpoints] : options.endpoints
  if (!Array.isArray(endpoints) || endpoints.length === 0 || endpoints.some((e) => typeof e !== "string" || e === "")) {
    return `endpoints must be one or more "host:port" strings, got ${JSON.stringify(options.endpoints)}`
  }
  if (options.cluster !== undefined && (typeof options.cluster !== "string" || options.cluster === "" || options.cluster.includes("/"))) {
    return `cluster must be a non-empty name without "/", got ${JSON.stringify(options.cluster)}`
  }
  for (const key of ["ttl", "requestTimeout", "connectTimeout"] as const) {
    const input = options[key]
    if (input === undefined) continue
    const decoded = Duration.decodeUnknown(input)
    if (Option.isNone(decoded) || !Duration.isFinite(decoded.value) || Duration.toMillis(decoded.value) <= 0) {
      return `${key} must be a finite positive duration (e.g. "5 seconds"), got ${JSON.stringify(String(input))}`
    }
    if (key === "ttl" && Duration.toMillis(decoded.value) < 1000) {
      return `ttl must be at least 1 second (etcd counts leases in whole seconds), got ${Duration.format(decoded.value)}`
    }
  }
  return undefined
}

const seconds = (input: Duration.DurationInput | undefined, fallback: Duration.DurationInput) =>
  Option.getOrElse(Duration.decodeUnknown(input ?? fallback), () => Duration.decode(fallback))

/**
 * An etcd registrar for one node (give each node its own). Bad options make the node's start
 * fail with a `RegistrarError` that says which option is wrong; so does an etcd that cannot be
 * reached within `connectTimeout`.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import * as Etcd from "rain/Etcd"
 *
 * const registrar = Etcd.registrar({
 *   endpoints: "127.0.0.1:2379",
 *   cluster: "shop",
 *   ttl: "3 seconds",
 *   retry: Schedule.spaced("1 second")
 * })
 * ```
 * @since 0.2.0
 * @category constructors
 */
export const registrar = (options: Options): EtcdRegistrar => {
  const problem = problemOf(options)
  const endpoints = typeof options.endpoints === "string" ? [options.endpoints] : [...(options.endpoints ?? [])]
  return internal.make({
    endpoints: endpoints.map((e) => String(e).replace(/^https?:\/\//, "")),
    cluster: options.cluster ?? "default",
    ttlSeconds: problem === undefined ? Math.max(1, Math.round(Duration.toSeconds(seconds(options.ttl, "10 seconds")))) : 10,
    requestTimeout: seconds(options.requestTimeout, "5 seconds"),
    connectTimeout: seconds(options.connectTimeout, "10 seconds"),
    retry: options.retry ?? internal.defaultRetry,
    cache: options.cache ?? true,
    host: options.host,
    problem
  })
}
