/**
 * The etcd registrar: a node's registration, its applications' routes and the shared
 * configuration as keys under `rain/<cluster>/`:
 *
 *   nodes/<node>          {"host":...,"port":...}            with the node's lease
 *   apps/<app>/<node>     {"version":...,"mode":...,"weight":...} with the node's lease
 *   config/<key>          <JSON value>                       no lease
 *
 * A session is one client, one lease, the node's keys put under it, a snapshot of the prefix
 * and a watch from the snapshot's revision; it keeps the lease alive every third of the TTL.
 * Any failure (keep-alive refused or expired, the watch broken, a request timing out) ends the
 * session: it is logged, `status` fails with the error, and a new session is tried on the
 * `retry` schedule (fresh once a session was up). A new session registers the node and its
 * applications again and compares the new snapshot with what the node knew, so the events
 * missed while disconnected are delivered. Reads (lookup, nodes, applications, configuration)
 * come from the watched copy (a lookup that misses asks etcd); writes go to etcd.
 *
 * @internal
 */
import type { Duration, Scope } from "effect"
import { Deferred, Duration as D, Effect, Fiber, Option, PubSub, Ref, Schedule, Stream } from "effect"
import type { IKeyValue, IOptions, Watcher } from "etcd3"
import { Etcd3 } from "etcd3"
import type { ApplicationRoute, ClusterEvent, Registrar, Route } from "../../Registry/Registrar.js"
import { ClusterEvent as Event, RegistrarError } from "../../Registry/Registrar.js"
import { byWeight, checkKey, encodeValue, routeOf } from "../../Registry/internal/local.js"

/** @internal */
export interface Settings {
  readonly endpoints: ReadonlyArray<string>
  readonly cluster: string
  readonly ttlSeconds: number
  readonly requestTimeout: Duration.Duration
  readonly connectTimeout: Duration.Duration
  readonly retry: Schedule.Schedule<unknown, RegistrarError>
  readonly cache: boolean
  readonly host: string | undefined
  readonly problem: string | undefined
}

/** What the node knows of the cluster: the watched copy of the prefix. */
interface View {
  readonly nodes: Map<string, Route>
  /** By `app/node`. */
  readonly apps: Map<string, ApplicationRoute>
  /** JSON text by key. */
  readonly config: Map<string, string>
}

const emptyView = (): View => ({ nodes: new Map(), apps: new Map(), config: new Map() })

/** etcd3's own retries and circuit breaker off: the registrar retries whole sessions on its schedule. */
const passThrough = {
  execute: (fn: (context: { signal: AbortSignal }) => unknown, signal?: AbortSignal) =>
    Promise.resolve().then(() => fn({ signal: signal ?? new AbortController().signal })),
  onSuccess: () => ({ dispose: () => {} }),
  onFailure: () => ({ dispose: () => {} })
} as unknown as NonNullable<NonNullable<IOptions["faultHandling"]>["global"]>

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** A promise that settles by `ms` at the latest (finalizers must not wait on an etcd that does not answer). */
const bounded = <A>(promise: Promise<A>, ms: number): Promise<A | undefined> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms)
    promise.then((a) => {
      clearTimeout(timer)
      resolve(a)
    }, () => {
      clearTimeout(timer)
      resolve(undefined)
    })
  })

const isRoute = (u: any): u is Route => typeof u?.host === "string" && typeof u.port === "number"

/** @internal */
export interface Status {
  readonly connected: boolean
  readonly error: RegistrarError | undefined
}

/** @internal */
export interface EtcdRegistrar extends Registrar {
  readonly status: Effect.Effect<void, RegistrarError>
}

/** @internal */
export const make = (settings: Settings): EtcdRegistrar => {
  const root = `rain/${settings.cluster}/`
  const where = settings.endpoints.join(",")
  const hint = `Check that etcd runs at ${where} (rain/Etcd endpoints) and that this host can reach it`
  const failure = (operation: string) => (error: unknown) =>
    error instanceof RegistrarError
      ? error
      : new RegistrarError({ operation, detail: error instanceof Error ? error.message : String(error), hint })

  let view = emptyView()
  let self: { name: string; route: Route } | undefined
  const mine = new Map<string, ApplicationRoute>()
  let client: Etcd3 | undefined
  let leaseId: string | undefined
  let status: Status = { connected: false, error: undefined }
  let loop: Fiber.RuntimeFiber<void, never> | undefined
  let closed = false
  const pubsub = Effect.runSync(PubSub.unbounded<ClusterEvent>())
  /** Nodes missing from the snapshot taken on reconnecting, not yet reported as left. */
  const missing = new Map<string, { readonly route: Route; readonly since: number }>()
  // Long enough for the slowest other node to register again: its retry may be waiting out a
  // request timeout and a back-off when etcd comes back (5 s was seen to be too short on a busy machine).
  const graceMillis = Math.max(2 * settings.ttlSeconds * 1000, 10_000)

  /** An etcd request with the request timeout, failing with a `RegistrarError`. */
  const call = <A>(operation: string, f: () => Promise<A>) =>
    Effect.tryPromise({ try: f, catch: failure(operation) }).pipe(
      Effect.timeoutFail({
        duration: settings.requestTimeout,
        onTimeout: () =>
          new RegistrarError({ operation, detail: `etcd did not answer within ${D.format(settings.requestTimeout)}`, hint })
      })
    )

  const nodeKey = (name: string) => `${root}nodes/${name}`
  const appKey = (app: string, node: string) => `${root}apps/${app}/${node}`
  const configKey = (key: string) => `${root}config/${key}`

  /** Applies one key's new value (undefined: deleted) to a view; the event it makes, if any. */
  const apply = (target: View, key: string, value: string | undefined): ClusterEvent | undefined => {
    const rest = key.slice(root.length)
    if (rest.startsWith("nodes/")) {
      const node = rest.slice(6)
      if (value === undefined) return target.nodes.delete(node) ? Event.NodeLeft({ node }) : undefined
      const route = parseJson(value)
      if (!isRoute(route)) return undefined
      const old = target.nodes.get(node) ?? missing.get(node)?.route
      missing.delete(node)
      target.nodes.set(node, { host: route.host, port: route.port })
      return old?.host === route.host && old.port === route.port ? undefined : Event.NodeJoined({ node, route })
    }
    if (rest.startsWith("apps/")) {
      const [name, node] = [rest.slice(5, rest.indexOf("/", 5)), rest.slice(rest.indexOf("/", 5) + 1)]
      if (name === "" || node === "") return undefined
      const id = `${name}/${node}`
      if (value === undefined) return target.apps.delete(id) ? Event.ApplicationStopped({ name, node }) : undefined
      const data = parseJson(value) as any
      if (typeof data?.version !== "string" || typeof data.mode !== "string" || typeof data.weight !== "number") return undefined
      const route: ApplicationRoute = { name, node, version: data.version, mode: data.mode, weight: data.weight }
      const old = target.apps.get(id)
      target.apps.set(id, route)
      return old !== undefined && JSON.stringify(old) === JSON.stringify(route) ? undefined : Event.ApplicationStarted({ route })
    }
    if (rest.startsWith("config/")) {
      const k = rest.slice(7)
      if (value === undefined) return target.config.delete(k) ? Event.ConfigUpdated({ key: k, value: undefined }) : undefined
      const old = target.config.get(k)
      target.config.set(k, value)
      return old === value ? undefined : Event.ConfigUpdated({ key: k, value: parseJson(value) })
    }
    return undefined
  }

  /** The events that take the node's view to a fresh snapshot (missed while disconnected). */
  const resync = (kvs: ReadonlyArray<IKeyValue>, reconnecting: boolean): Array<ClusterEvent> => {
    const next = emptyView()
    const events: Array<ClusterEvent> = []
    const seen = new Set<string>()
    for (const kv of kvs) {
      const key = kv.key.toString()
      seen.add(key)
      apply(next, key, kv.value.toString())
    }
    const old = view
    // what changed or appeared, then what went away (a node leaves after its applications stop)
    for (const [k, v] of next.config) if (old.config.get(k) !== v) events.push(Event.ConfigUpdated({ key: k, value: parseJson(v) }))
    for (const k of old.config.keys()) if (!next.config.has(k)) events.push(Event.ConfigUpdated({ key: k, value: undefined }))
    for (const [node, r] of next.nodes) {
      const o = old.nodes.get(node)
      if (o?.host !== r.host || o.port !== r.port) events.push(Event.NodeJoined({ node, route: r }))
    }
    for (const [id, r] of next.apps) {
      const o = old.apps.get(id)
      if (o === undefined || JSON.stringify(o) !== JSON.stringify(r)) events.push(Event.ApplicationStarted({ route: r }))
    }
    for (const [id, r] of old.apps) if (!next.apps.has(id)) events.push(Event.ApplicationStopped({ name: r.name, node: r.node }))
    for (const [node, route] of old.nodes) {
      if (next.nodes.has(node)) continue
      // After an outage every live node registers again, some later than this one (etcd lost
      // its data, or their leases expired meanwhile): a node missing now leaves only if it has
      // not come back within the grace period.
      if (reconnecting) missing.set(node, { route, since: Date.now() })
      else events.push(Event.NodeLeft({ node }))
    }
    view = next
    return events
  }

  const publish = (events: ReadonlyArray<ClusterEvent>) =>
    events.length === 0 ? Effect.void : Effect.asVoid(PubSub.publishAll(pubsub, events))

  /** Reports the missing nodes that did not come back in time as left. */
  const graceEnds = Effect.sleep(D.millis(graceMillis)).pipe(
    Effect.zipRight(Effect.suspend(() => {
      const gone = Array.from(missing.keys()).filter((node) => !view.nodes.has(node))
      missing.clear()
      return publish(gone.map((node) => Event.NodeLeft({ node })))
    }))
  )

  const putApp = (c: Etcd3, lease: string, route: ApplicationRoute) =>
    call(`announce application ${route.name} in etcd`, () =>
      c.put(appKey(route.name, route.node)).value(JSON.stringify({ version: route.version, mode: route.mode, weight: route.weight }))
        .lease(lease).exec())

  /**
   * One session: connect, take a lease, register, snapshot, watch, keep the lease alive. Fails
   * before `up` is set when it cannot get that far; once up, it ends (succeeds) when the
   * connection is lost, after logging why.
   */
  const session = (up: Deferred.Deferred<void>, wasUp: Ref.Ref<boolean>): Effect.Effect<void, RegistrarError, Scope.Scope> =>
    Effect.gen(function*() {
      const own = self!
      const c = yield* Effect.acquireRelease(
        Effect.sync(() =>
          new Etcd3({
            hosts: [...settings.endpoints],
            dialTimeout: D.toMillis(settings.requestTimeout),
            faultHandling: { global: passThrough, host: () => passThrough },
            grpcOptions: { "grpc.initial_reconnect_backoff_ms": 100, "grpc.max_reconnect_backoff_ms": 1000 }
          })
        ),
        (c) =>
          Effect.sync(() => {
            if (client === c) client = undefined
            c.close()
          })
      )
      const lease = c.lease(settings.ttlSeconds, { autoKeepAlive: false })
      // Leaving on purpose revokes the lease: the others see the node leave at once, not after the TTL.
      yield* Effect.addFinalizer(() =>
        closed ? Effect.promise(() => bounded(lease.revoke().catch(() => undefined), 1000)) : Effect.void
      )
      const id = yield* call(`take a lease from etcd at ${where}`, () => lease.grant())
      yield* call(`register ${own.name} in etcd`, () => c.put(nodeKey(own.name)).value(JSON.stringify(own.route)).lease(id).exec())
      for (const route of mine.values()) yield* putApp(c, id, route)
      const snapshot = yield* call(`read the cluster from etcd at ${where}`, () => c.getAll().prefix(root).exec())
      const broken = yield* Deferred.make<never, RegistrarError>()
      const runFork = Effect.runFork
      const watcher: Watcher = yield* Effect.acquireRelease(
        call(`watch the cluster in etcd at ${where}`, () =>
          c.watch().prefix(root).startRevision(String(BigInt(snapshot.header.revision) + 1n)).create()),
        // not awaited: closing the client ends the watch anyway, and a cancel etcd does not answer must not hang a close
        (w) => Effect.sync(() => void w.cancel().catch(() => undefined))
      )
      const lost = (why: string) => (error?: unknown) =>
        runFork(Deferred.fail(broken, failure(why)(error ?? new Error(why))))
      watcher.on("put", (kv) => runFork(publish([apply(view, kv.key.toString(), kv.value.toString())].filter((e) => e !== undefined))))
      watcher.on("delete", (kv) => runFork(publish([apply(view, kv.key.toString(), undefined)].filter((e) => e !== undefined))))
      watcher.on("disconnected", lost("watch the cluster in etcd (disconnected)"))
      watcher.on("error", lost("watch the cluster in etcd"))
      watcher.on("end", lost("watch the cluster in etcd (ended)"))
      yield* publish(resync(snapshot.kvs, yield* Ref.get(wasUp)))
      if (missing.size > 0) yield* Effect.forkScoped(graceEnds)
      client = c
      leaseId = id
      const reconnected = yield* Ref.get(wasUp)
      status = { connected: true, error: undefined }
      yield* Ref.set(wasUp, true)
      yield* Deferred.succeed(up, undefined)
      yield* (reconnected
        ? Effect.logInfo(`etcd registrar: connected again to ${where}; ${own.name} registered again`)
        : Effect.logDebug(`etcd registrar: ${own.name} registered in ${where}`))
      const keepAlive = Effect.sleep(D.millis(settings.ttlSeconds * 1000 / 3)).pipe(
        Effect.zipRight(call(`keep the lease of ${own.name} alive in etcd at ${where}`, () => lease.keepaliveOnce())),
        Effect.forever
      )
      const error = yield* Effect.flip(Effect.raceFirst(keepAlive, Deferred.await(broken)))
      if (closed) return
      client = undefined
      leaseId = undefined
      status = { connected: false, error }
      yield* Effect.logWarning(`etcd registrar: lost etcd (${error.message}); reconnecting`)
    })

  const setDown = (error: RegistrarError) =>
    Effect.sync(() => {
      status = { connected: false, error }
    })

  /** Sessions until closed: the schedule spaces failed attempts and restarts after each lost session. */
  const run = (up: Deferred.Deferred<void>) =>
    Effect.gen(function*() {
      const wasUp = yield* Ref.make(false)
      // one warning per outage; the attempts after it at debug level
      const attempt = Effect.scoped(session(up, wasUp)).pipe(
        Effect.tapError((error) =>
          Effect.suspend(() => {
            const first = status.error === undefined
            status = { connected: false, error }
            const line = `etcd registrar: cannot reach etcd (${error.message}); retrying`
            return first ? Effect.logWarning(line) : Effect.logDebug(line)
          }))
      )
      return yield* Effect.forever(Effect.retry(attempt, settings.retry)).pipe(
        Effect.catchAll((error) =>
          Effect.zipRight(
            setDown(error),
            Effect.logError(`etcd registrar: gave up reaching etcd (the retry schedule ended): ${error.message}`)
          ))
      )
    }).pipe(Effect.annotateLogs({ registrar: "etcd" }))

  const withClient = <A>(operation: string, f: (c: Etcd3, lease: string) => Promise<A>) =>
    Effect.suspend(() => {
      const c = client
      const lease = leaseId
      if (c === undefined || lease === undefined) {
        return Effect.fail(
          status.error ??
            new RegistrarError({ operation, detail: self === undefined ? "the node is not registered" : "etcd is not connected", hint })
        )
      }
      return call(operation, () => f(c, lease))
    })

  const lookupEtcd = (name: string) =>
    withClient(`look ${name} up in etcd`, (c) => c.get(nodeKey(name)).string()).pipe(
      Effect.map((text) => {
        const route = text === null ? undefined : parseJson(text)
        return isRoute(route) ? { host: route.host, port: route.port } : undefined
      })
    )

  return {
    status: Effect.suspend(() =>
      status.connected
        ? Effect.void
        : Effect.fail(
          status.error ?? new RegistrarError({ operation: "use etcd", detail: "the node is not registered (yet)", hint })
        )
    ),
    register: (name, port) =>
      Effect.gen(function*() {
        if (settings.problem !== undefined) {
          return yield* new RegistrarError({ operation: `register ${name} in etcd`, detail: settings.problem, hint: "Fix the rain/Etcd options" })
        }
        if (self !== undefined) {
          return yield* new RegistrarError({ operation: `register ${name} in etcd`, detail: `this registrar already registered ${self.name}`, hint: "Give each node a registrar of its own" })
        }
        closed = false
        self = { name, route: { host: settings.host ?? name.slice(name.indexOf("@") + 1), port } }
        const up = yield* Deferred.make<void>()
        // interruptible even when registering runs in an acquire (uninterruptible): close must stop it
        loop = yield* Effect.forkDaemon(Effect.interruptible(run(up)))
        const connected = yield* Deferred.await(up).pipe(Effect.timeout(settings.connectTimeout), Effect.option)
        if (Option.isSome(connected)) return
        closed = true
        yield* Effect.ignore(Fiber.interrupt(loop).pipe(Effect.timeout("2 seconds")))
        loop = undefined
        self = undefined
        return yield* (status.error ??
          new RegistrarError({ operation: `register ${name} in etcd at ${where}`, detail: `not connected within ${D.format(settings.connectTimeout)}`, hint }))
      }),
    lookup: (name) =>
      Effect.suspend(() => {
        // From the watched copy (and while etcd is away, the last known address beats none: a
        // connection attempt says whether it is right). A miss may be a node that registered
        // after the last event arrived: ask etcd.
        const known = settings.cache || !status.connected ? view.nodes.get(name) : undefined
        if (known !== undefined) return Effect.succeed(known)
        return lookupEtcd(name)
      }),
    close: Effect.suspend(() => {
      closed = true
      const fiber = loop
      loop = undefined
      self = undefined
      status = { connected: false, error: undefined }
      mine.clear()
      missing.clear()
      view = emptyView()
      return fiber === undefined ? Effect.void : Effect.asVoid(Fiber.interrupt(fiber))
    }),
    nodes: Effect.sync(() => Array.from(view.nodes.keys()).sort()),
    events: Stream.fromPubSub(pubsub),
    registerApplication: (app) =>
      Effect.flatMap(routeOf(self?.name, app), (route) =>
        Effect.suspend(() => {
          mine.set(route.name, route)
          // not connected: the next session puts it
          if (client === undefined || leaseId === undefined) return Effect.void
          return putApp(client, leaseId, route)
        })),
    unregisterApplication: (name) =>
      Effect.suspend(() => {
        const route = mine.get(name)
        if (route === undefined) return Effect.void
        mine.delete(name)
        if (client === undefined) return Effect.void
        return Effect.asVoid(withClient(`withdraw application ${name} from etcd`, (c) => c.delete().key(appKey(name, route.node)).exec()))
      }),
    resolveApplication: (name) =>
      Effect.sync(() => byWeight(Array.from(view.apps.values()).filter((r) => r.name === name))),
    getConfig: (key) =>
      Effect.zipRight(
        checkKey(`read configuration key ${JSON.stringify(key)}`, key),
        Effect.sync(() => {
          const text = view.config.get(key)
          return text === undefined ? undefined : parseJson(text)
        })
      ),
    setConfig: (key, value) =>
      Effect.zipRight(
        checkKey(`set configuration key ${JSON.stringify(key)}`, key),
        Effect.flatMap(encodeValue(key, value), (text) =>
          Effect.asVoid(withClient(`set configuration key ${key} in etcd`, (c) => c.put(configKey(key)).value(text).exec())))
      ),
    deleteConfig: (key) =>
      Effect.zipRight(
        checkKey(`delete configuration key ${JSON.stringify(key)}`, key),
        Effect.asVoid(withClient(`delete configuration key ${key} in etcd`, (c) => c.delete().key(configKey(key)).exec()))
      ),
    config: Effect.sync(() =>
      new Map(Array.from(view.config, ([k, v]) => [k, parseJson(v)] as const)) as ReadonlyMap<string, unknown>
    )
  }
}

/** @internal */
export const defaultRetry: Schedule.Schedule<unknown, RegistrarError> = Schedule.exponential("100 millis").pipe(
  Schedule.union(Schedule.spaced("2 seconds")),
  Schedule.jittered,
  Schedule.asVoid
) as Schedule.Schedule<unknown, RegistrarError>

