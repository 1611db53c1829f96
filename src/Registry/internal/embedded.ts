/**
 * The embedded registrar: newline-delimited JSON over TCP.
 *
 *   → {"op":"register","name":"a@host","port":1234}   (kept while the socket lives)
 *   → {"op":"lookup","name":"b@host"}  ← {"port":5678} or {"port":null}
 *   → {"op":"app","node":"a@host","route":{...}} / {"op":"unapp","node":"a@host","name":"web"}  ← {"ok":true}
 *   → {"op":"config","key":"k","value":"<JSON text>"} (no value: delete)  ← {"ok":true}
 *   → {"op":"snapshot"}  ← {"nodes":{"a@host":1234},"apps":[route...],"config":{"k":"<JSON text>"}}
 *
 * Its cluster is the nodes of one host. A node's application routes go when its registration
 * socket closes. Each node remembers what it announced and the configuration it set, and sends
 * it again when it registers with a new server (takeover); configuration set by a node that is
 * gone is lost with the server that held it. Events come from comparing snapshots taken every
 * `pollMillis` while the node is registered.
 *
 * The first node to bind the registrar port serves; the others are clients. A client
 * whose server goes away tries to bind the port itself (takeover) or, if another node
 * was faster, registers with that one.
 *
 * Port 0 (tests) makes the first node serve on a port the system picks, with no window
 * for another program to take it: `port` then says which, for the other nodes to use.
 *
 * @internal
 */
import { Effect, PubSub, Stream } from "effect"
import * as net from "node:net"
import type { ApplicationRoute, ClusterEvent, Registrar, Route } from "../Registrar.js"
import { ClusterEvent as Event, RegistrarError } from "../Registrar.js"
import { byWeight, checkKey, encodeValue, routeOf } from "./local.js"

/** What the server holds, as a snapshot carries it. */
interface Snapshot {
  readonly nodes: Record<string, number>
  readonly apps: ReadonlyArray<ApplicationRoute>
  readonly config: Record<string, string>
}

const emptySnapshot: Snapshot = { nodes: {}, apps: [], config: {} }

const isRoute = (u: any): u is ApplicationRoute =>
  typeof u?.name === "string" && typeof u.node === "string" && typeof u.version === "string" &&
  typeof u.mode === "string" && typeof u.weight === "number"

/** The events that take the cluster from `before` to `after`. */
export const diff = (before: Snapshot, after: Snapshot, hostOf: (node: string) => string): Array<ClusterEvent> => {
  const events: Array<ClusterEvent> = []
  for (const [node, port] of Object.entries(after.nodes)) {
    if (before.nodes[node] !== port) events.push(Event.NodeJoined({ node, route: { host: hostOf(node), port } }))
  }
  const key = (r: ApplicationRoute) => `${r.name}\u0000${r.node}`
  const beforeApps = new Map(before.apps.map((r) => [key(r), r]))
  const afterApps = new Map(after.apps.map((r) => [key(r), r]))
  for (const [k, r] of afterApps) {
    const old = beforeApps.get(k)
    if (old === undefined || JSON.stringify(old) !== JSON.stringify(r)) events.push(Event.ApplicationStarted({ route: r }))
  }
  for (const [k, r] of beforeApps) if (!afterApps.has(k)) events.push(Event.ApplicationStopped({ name: r.name, node: r.node }))
  for (const [k, v] of Object.entries(after.config)) {
    if (before.config[k] !== v) events.push(Event.ConfigUpdated({ key: k, value: JSON.parse(v) }))
  }
  for (const k of Object.keys(before.config)) if (!(k in after.config)) events.push(Event.ConfigUpdated({ key: k, value: undefined }))
  for (const node of Object.keys(before.nodes)) if (!(node in after.nodes)) events.push(Event.NodeLeft({ node }))
  return events
}

const lines = (socket: net.Socket, onLine: (line: any) => void): void => {
  let rest = ""
  socket.setEncoding("utf8")
  socket.on("data", (chunk: string) => {
    rest += chunk
    let i: number
    while ((i = rest.indexOf("\n")) >= 0) {
      const line = rest.slice(0, i)
      rest = rest.slice(i + 1)
      try {
        onLine(JSON.parse(line))
      } catch {
        socket.destroy()
        return
      }
    }
    if (rest.length > 65536) socket.destroy()
  })
}

/** @internal */
export interface EmbeddedRegistrar extends Registrar {
  /** The registrar port: the one asked for, or once serving on port 0, the one the system picked. */
  readonly port: number
  /** Connections this node's server accepted (registrations, and requests on a connection of their own). */
  readonly accepted: number
}

/** @internal */
export const embedded = (requestedPort: number, host: string, pollMillis = 1000): EmbeddedRegistrar => {
  let port = requestedPort
  const table = new Map<string, number>()
  const served = { apps: new Map<string, Map<string, ApplicationRoute>>(), config: new Map<string, string>() }
  /** What this node announced and set, sent again to a new server. */
  const mine = { apps: new Map<string, ApplicationRoute>(), config: new Map<string, string | undefined>() }
  const pubsub = Effect.runSync(PubSub.unbounded<ClusterEvent>())
  let last: Snapshot = emptySnapshot
  let poller: ReturnType<typeof setInterval> | undefined
  let server: net.Server | undefined
  let client: net.Socket | undefined
  let own: { name: string; port: number } | undefined
  let closed = false
  const serverSockets = new Set<net.Socket>()
  let accepted = 0

  /** The server's answer to one request, or undefined for one it does not know (the connection closes). */
  const serveRequest = (msg: any): object | undefined => {
    if (msg?.op === "register" && typeof msg.name === "string" && typeof msg.port === "number") {
      table.set(msg.name, msg.port)
      return { ok: true }
    }
    if (msg?.op === "lookup" && typeof msg.name === "string") return { port: table.get(msg.name) ?? null }
    if (msg?.op === "app" && typeof msg.node === "string" && isRoute(msg.route)) {
      if (!served.apps.has(msg.node)) served.apps.set(msg.node, new Map())
      served.apps.get(msg.node)!.set(msg.route.name, msg.route)
      return { ok: true }
    }
    if (msg?.op === "unapp" && typeof msg.node === "string" && typeof msg.name === "string") {
      served.apps.get(msg.node)?.delete(msg.name)
      return { ok: true }
    }
    if (msg?.op === "config" && typeof msg.key === "string") {
      if (typeof msg.value === "string") served.config.set(msg.key, msg.value)
      else served.config.delete(msg.key)
      return { ok: true }
    }
    if (msg?.op === "snapshot") {
      const apps = Array.from(served.apps.entries())
        .filter(([node]) => table.has(node))
        .flatMap(([, m]) => Array.from(m.values()))
      return { nodes: Object.fromEntries(table), apps, config: Object.fromEntries(served.config) }
    }
    return undefined
  }

  const serve = (): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.createServer((socket) => {
        accepted++
        serverSockets.add(socket)
        const names = new Set<string>()
        socket.on("error", () => {})
        socket.on("close", () => {
          serverSockets.delete(socket)
          for (const n of names) {
            table.delete(n)
            served.apps.delete(n)
          }
        })
        lines(socket, (msg) => {
          if (msg?.op === "register" && typeof msg.name === "string" && typeof msg.port === "number") names.add(msg.name)
          const answer = serveRequest(msg)
          if (answer === undefined) socket.destroy()
          else socket.write(JSON.stringify(answer) + "\n")
        })
      })
      s.once("error", () => resolve(false))
      s.listen(port, host, () => {
        port = (s.address() as net.AddressInfo).port
        s.removeAllListeners("error")
        s.on("error", () => {})
        server = s
        resolve(true)
      })
    })

  /**
   * The answers awaited on the registration socket, in the order the server sends them (one
   * line per request, in request order): lookups on this host's registrar go there, with no
   * TCP connection of their own (a third of a warm connect's time otherwise).
   */
  let awaiting: Array<(answer: any) => void> = []
  const onClientClosed = () => {
    const pending = awaiting
    awaiting = []
    for (const answer of pending) answer(undefined)
  }

  const join = (): Promise<void> =>
    new Promise((resolve) => {
      const socket = net.connect({ host, port })
      client = socket
      socket.on("error", () => {})
      socket.once("connect", () => {
        const line = (message: unknown) => {
          awaiting.push(() => {})
          socket.write(JSON.stringify(message) + "\n")
        }
        line({ op: "register", ...own })
        for (const route of mine.apps.values()) line({ op: "app", node: own!.name, route })
        for (const [key, value] of mine.config) line({ op: "config", key, value })
        resolve()
      })
      lines(socket, (answer) => awaiting.shift()?.(answer))
      socket.once("close", () => {
        if (client === socket) {
          client = undefined
          onClientClosed()
        }
        resolve()
        if (!closed) setTimeout(() => void ensure(), 20 + Math.floor(Math.random() * 80))
      })
    })

  /**
   * A request on the registration socket (still connecting is fine: writes keep their order, and
   * so do the answers): the answer, "closed" when the socket closed first (the caller asks
   * afresh), or undefined when no answer came in 2 s (as for `request`).
   */
  const askClient = (socket: net.Socket, message: unknown): Promise<any> =>
    new Promise((resolve) => {
      let answered = false
      const timer = setTimeout(() => {
        answered = true
        resolve(undefined)
      }, 2000)
      awaiting.push((answer) => {
        if (answered) return
        answered = true
        clearTimeout(timer)
        resolve(answer === undefined ? "closed" : answer)
      })
      socket.write(JSON.stringify(message) + "\n")
    })

  const ensure = async (): Promise<void> => {
    if (closed || own === undefined) return
    if (await serve()) {
      table.set(own.name, own.port)
      if (mine.apps.size > 0) served.apps.set(own.name, new Map(Array.from(mine.apps, ([k, r]) => [k, r])))
      for (const [key, value] of mine.config) {
        if (value === undefined) served.config.delete(key)
        else served.config.set(key, value)
      }
      return
    }
    await join()
  }

  /** One request on a connection of its own: the answer, or undefined (no server, no answer in 2 s). */
  const request = (route: Route, message: unknown): Promise<any> =>
    new Promise((resolve) => {
      const socket = net.connect(route)
      const timer = setTimeout(() => socket.destroy(), 2000)
      socket.on("error", () => {})
      socket.once("close", () => {
        clearTimeout(timer)
        resolve(undefined)
      })
      socket.once("connect", () => socket.write(JSON.stringify(message) + "\n"))
      lines(socket, (msg) => {
        clearTimeout(timer)
        resolve(msg)
        socket.end()
      })
    })

  const hostOf = (node: string) => node.slice(node.indexOf("@") + 1)

  /**
   * A request to this host's server: answered here when this node serves, else on the
   * registration connection when there is one, else on a connection of its own.
   */
  const requestHere = async (message: unknown): Promise<any> => {
    // through JSON both ways, as on the wire: the caller gets a copy, not the server's tables
    if (server !== undefined) return JSON.parse(JSON.stringify(serveRequest(message) ?? null))
    if (client !== undefined) {
      const answer = await askClient(client, message)
      if (answer !== "closed") return answer
    }
    return request({ host, port }, message)
  }

  /** The server's state (this host's cluster). */
  const snapshot = (): Promise<Snapshot> =>
    requestHere({ op: "snapshot" }).then((msg) => {
      if (typeof msg?.nodes !== "object" || !Array.isArray(msg.apps) || typeof msg.config !== "object") {
        throw new Error(`no registrar answers on ${host}:${port}`)
      }
      return { nodes: msg.nodes, apps: msg.apps.filter(isRoute), config: msg.config }
    })

  /** A write to the server, acknowledged; remembered to send again to a new server. */
  const write = (message: unknown): Promise<void> =>
    requestHere(message).then((msg) => {
      if (msg?.ok !== true) throw new Error(`no registrar answers on ${host}:${port}`)
    })

  const poll = async () => {
    const next = await snapshot().catch(() => undefined)
    if (next === undefined || closed) return
    const events = diff(last, next, hostOf)
    last = next
    if (events.length > 0) Effect.runSync(PubSub.publishAll(pubsub, events))
  }

  const read = <A>(operation: string, f: (s: Snapshot) => A) =>
    Effect.tryPromise({ try: () => snapshot().then(f), catch: failed(operation) })

  function failed(operation: string) {
    return (error: unknown) => new RegistrarError({ operation, detail: error instanceof Error ? error.message : String(error) })
  }
  return {
    get port() {
      return port
    },
    get accepted() {
      return accepted
    },
    register: (name, nodePort) =>
      Effect.tryPromise({
        try: async () => {
          own = { name, port: nodePort }
          await ensure()
          await poll()
          if (poller === undefined && !closed) {
            poller = setInterval(() => void poll(), pollMillis)
            poller.unref()
          }
        },
        catch: failed(`register ${name} with the embedded registrar on port ${port}`)
      }),
    lookup: (name) =>
      Effect.tryPromise({
        try: async () => {
          const nodeHost = name.slice(name.indexOf("@") + 1)
          if (server !== undefined && table.has(name)) return { host: nodeHost, port: table.get(name)! }
          const registrarHost = nodeHost === "localhost" ? host : nodeHost
          const message = { op: "lookup", name }
          // this host's registrar through the registration connection; another host's on a connection of its own
          const answer = registrarHost === host ? await requestHere(message) : await request({ host: registrarHost, port }, message)
          return typeof answer?.port === "number" ? { host: nodeHost, port: answer.port as number } : undefined
        },
        catch: failed(`look ${name} up in the embedded registrar on port ${port}`)
      }),
    nodes: read("list the nodes of the embedded registrar", (s) => Object.keys(s.nodes)),
    events: Stream.fromPubSub(pubsub),
    registerApplication: (app) =>
      Effect.flatMap(routeOf(own?.name, app), (route) => {
        mine.apps.set(route.name, route)
        return Effect.tryPromise({
          try: () => write({ op: "app", node: route.node, route }),
          catch: failed(`announce application ${route.name} to the embedded registrar on port ${port}`)
        })
      }),
    unregisterApplication: (name) =>
      Effect.suspend(() => {
        if (own === undefined || !mine.apps.delete(name)) return Effect.void
        return Effect.tryPromise({
          try: () => write({ op: "unapp", node: own!.name, name }),
          catch: failed(`withdraw application ${name} from the embedded registrar on port ${port}`)
        })
      }),
    resolveApplication: (name) =>
      read(`resolve application ${name} in the embedded registrar`, (s) => byWeight(s.apps.filter((r) => r.name === name))),
    getConfig: (key) =>
      Effect.zipRight(
        checkKey(`read configuration key ${JSON.stringify(key)}`, key),
        read(`read configuration key ${key}`, (s) => (key in s.config ? JSON.parse(s.config[key]!) : undefined))
      ),
    setConfig: (key, value) =>
      Effect.zipRight(
        checkKey(`set configuration key ${JSON.stringify(key)}`, key),
        Effect.flatMap(encodeValue(key, value), (text) =>
          Effect.tryPromise({
            try: () => {
              mine.config.set(key, text)
              return write({ op: "config", key, value: text })
            },
            catch: failed(`set configuration key ${key} in the embedded registrar on port ${port}`)
          }))
      ),
    deleteConfig: (key) =>
      Effect.zipRight(
        checkKey(`delete configuration key ${JSON.stringify(key)}`, key),
        Effect.tryPromise({
          try: () => {
            mine.config.set(key, undefined)
            return write({ op: "config", key })
          },
          catch: failed(`delete configuration key ${key} in the embedded registrar on port ${port}`)
        })
      ),
    config: read("read the configuration of the embedded registrar", (s) =>
      new Map(Object.entries(s.config).map(([k, v]) => [k, JSON.parse(v) as unknown])) as ReadonlyMap<string, unknown>),
    close: Effect.async<void>((resume) => {
      closed = true
      if (poller !== undefined) clearInterval(poller)
      client?.destroy()
      for (const s of serverSockets) s.destroy()
      if (server === undefined) return resume(Effect.void)
      server.close(() => resume(Effect.void))
    })
  }
}
