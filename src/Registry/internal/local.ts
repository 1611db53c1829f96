/**
 * The cluster operations a registrar keeps in this node's memory when its backend has none
 * (static routes, a `Basic` backend given to `Registrar.make`): this node's own applications
 * and configuration, and events of its own changes. Also the checks every backend applies to
 * what a node announces (application names, configuration keys and JSON values).
 *
 * @internal
 */
import { Effect, PubSub, Stream } from "effect"
import type { ApplicationAnnouncement, ApplicationRoute, Basic, ClusterEvent, Registrar } from "../Registrar.js"
import { ClusterEvent as Event, RegistrarError } from "../Registrar.js"

/** @internal */
export const invalid = (operation: string, detail: string, hint: string) =>
  new RegistrarError({ operation, detail, hint })

/** An application route from an announcement, or the error saying what is wrong with it. @internal */
export const routeOf = (node: string | undefined, app: ApplicationAnnouncement): Effect.Effect<ApplicationRoute, RegistrarError> => {
  const operation = `announce application ${JSON.stringify(app?.name)}`
  if (node === undefined) return Effect.fail(invalid(operation, "this node is not registered yet", "Register the node first (Node.start does)"))
  if (typeof app?.name !== "string" || app.name === "" || app.name.includes("/")) {
    return Effect.fail(invalid(operation, "the name must be a non-empty string without \"/\"", "Name the application"))
  }
  if (typeof app.version !== "string") return Effect.fail(invalid(operation, "the version must be a string", "Give the spec a version"))
  if (app.mode !== "temporary" && app.mode !== "transient" && app.mode !== "permanent") {
    return Effect.fail(invalid(operation, `mode ${JSON.stringify(app.mode)} is not temporary, transient or permanent`, "Fix the mode"))
  }
  const weight = app.weight ?? 100
  if (!Number.isFinite(weight)) return Effect.fail(invalid(operation, `weight ${weight} is not a finite number`, "Fix the weight"))
  return Effect.succeed({ name: app.name, node, version: app.version, mode: app.mode, weight })
}

/** Checks a configuration key. @internal */
export const checkKey = (operation: string, key: string): Effect.Effect<void, RegistrarError> =>
  typeof key === "string" && key !== ""
    ? Effect.void
    : Effect.fail(invalid(operation, `the key ${JSON.stringify(key)} is not a non-empty string`, "Use a non-empty string key"))

/** A configuration value as JSON text, or the error saying why it is not one. @internal */
export const encodeValue = (key: string, value: unknown): Effect.Effect<string, RegistrarError> =>
  Effect.suspend(() => {
    const operation = `set configuration key ${JSON.stringify(key)}`
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch (error) {
      return Effect.fail(invalid(operation, `the value is not JSON: ${String(error)}`, "Give a JSON value"))
    }
    if (text === undefined) {
      return Effect.fail(invalid(operation, `the value (${typeof value}) is not JSON`, "Give a JSON value; deleteConfig removes a key"))
    }
    return Effect.succeed(text)
  })

/** Routes of an application, highest weight first, then by node name (stable answers). @internal */
export const byWeight = (routes: Iterable<ApplicationRoute>): ReadonlyArray<ApplicationRoute> =>
  Array.from(routes).sort((a, b) => b.weight - a.weight || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))

/** The cluster operations of a registrar that only resolves names. @internal */
export const local = (backend: Basic & Partial<Registrar>, known: () => ReadonlyArray<string>): Registrar => {
  let self: string | undefined
  const apps = new Map<string, ApplicationRoute>()
  const config = new Map<string, unknown>()
  const pubsub = Effect.runSync(PubSub.unbounded<ClusterEvent>())
  const publish = (event: ClusterEvent) => PubSub.publish(pubsub, event)
  return {
    register: (name, port) => Effect.tap(backend.register(name, port), () => Effect.sync(() => (self = name))),
    lookup: (name) => backend.lookup(name),
    close: Effect.zipRight(backend.close, Effect.sync(() => (self = undefined))),
    nodes: backend.nodes ?? Effect.sync(() => Array.from(new Set([...(self === undefined ? [] : [self]), ...known()]))),
    events: backend.events ?? Stream.fromPubSub(pubsub),
    registerApplication: backend.registerApplication ?? ((app) =>
      Effect.flatMap(routeOf(self, app), (route) =>
        Effect.suspend(() => {
          apps.set(route.name, route)
          return publish(Event.ApplicationStarted({ route }))
        }))),
    unregisterApplication: backend.unregisterApplication ?? ((name) =>
      Effect.suspend(() => {
        if (self === undefined || !apps.delete(name)) return Effect.void
        return publish(Event.ApplicationStopped({ name, node: self }))
      })),
    resolveApplication: backend.resolveApplication ?? ((name) =>
      Effect.sync(() => {
        const route = apps.get(name)
        return route === undefined ? [] : [route]
      })),
    getConfig: backend.getConfig ?? ((key) => Effect.as(checkKey(`read configuration key ${JSON.stringify(key)}`, key), config.get(key))),
    setConfig: backend.setConfig ?? ((key, value) =>
      Effect.zipRight(
        checkKey(`set configuration key ${JSON.stringify(key)}`, key),
        Effect.flatMap(encodeValue(key, value), (text) =>
          Effect.suspend(() => {
            const copy = JSON.parse(text) as unknown
            config.set(key, copy)
            return publish(Event.ConfigUpdated({ key, value: copy }))
          }))
      )),
    deleteConfig: backend.deleteConfig ?? ((key) =>
      Effect.zipRight(
        checkKey(`delete configuration key ${JSON.stringify(key)}`, key),
        Effect.suspend(() => (config.delete(key) ? publish(Event.ConfigUpdated({ key, value: undefined })) : Effect.void))
      )),
    config: backend.config ?? Effect.sync(() => new Map(config) as ReadonlyMap<string, unknown>)
  }
}
