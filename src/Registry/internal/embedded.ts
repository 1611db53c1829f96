/**
 * The embedded registrar: newline-delimited JSON over TCP.
 *
 *   → {"op":"register","name":"a@host","port":1234}   (kept while the socket lives)
 *   → {"op":"lookup","name":"b@host"}  ← {"port":5678} or {"port":null}
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
import { Effect } from "effect"
import * as net from "node:net"
import type { Registrar, Route } from "../Registrar.js"
import { RegistrarError } from "../Registrar.js"

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
}

/** @internal */
export const embedded = (requestedPort: number, host: string): EmbeddedRegistrar => {
  let port = requestedPort
  const table = new Map<string, number>()
  let server: net.Server | undefined
  let client: net.Socket | undefined
  let own: { name: string; port: number } | undefined
  let closed = false
  const serverSockets = new Set<net.Socket>()

  const serve = (): Promise<boolean> =>
    new Promise((resolve) => {
      const s = net.createServer((socket) => {
        serverSockets.add(socket)
        const names = new Set<string>()
        socket.on("error", () => {})
        socket.on("close", () => {
          serverSockets.delete(socket)
          for (const n of names) table.delete(n)
        })
        lines(socket, (msg) => {
          if (msg?.op === "register" && typeof msg.name === "string" && typeof msg.port === "number") {
            table.set(msg.name, msg.port)
            names.add(msg.name)
            socket.write("{\"ok\":true}\n")
          } else if (msg?.op === "lookup" && typeof msg.name === "string") {
            socket.write(JSON.stringify({ port: table.get(msg.name) ?? null }) + "\n")
          } else socket.destroy()
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

  const join = (): Promise<void> =>
    new Promise((resolve) => {
      const socket = net.connect({ host, port })
      client = socket
      socket.on("error", () => {})
      socket.once("connect", () => {
        socket.write(JSON.stringify({ op: "register", ...own }) + "\n")
        resolve()
      })
      lines(socket, () => {})
      socket.once("close", () => {
        if (client === socket) client = undefined
        resolve()
        if (!closed) setTimeout(() => void ensure(), 20 + Math.floor(Math.random() * 80))
      })
    })

  const ensure = async (): Promise<void> => {
    if (closed || own === undefined) return
    if (await serve()) {
      table.set(own.name, own.port)
      return
    }
    await join()
  }

  const ask = (route: Route, name: string): Promise<number | undefined> =>
    new Promise((resolve) => {
      const socket = net.connect(route)
      const timer = setTimeout(() => socket.destroy(), 2000)
      socket.on("error", () => {})
      socket.once("close", () => {
        clearTimeout(timer)
        resolve(undefined)
      })
      socket.once("connect", () => socket.write(JSON.stringify({ op: "lookup", name }) + "\n"))
      lines(socket, (msg) => {
        clearTimeout(timer)
        resolve(typeof msg?.port === "number" ? msg.port : undefined)
        socket.end()
      })
    })

  const failed = (operation: string) => (error: unknown) =>
    new RegistrarError({ operation, detail: error instanceof Error ? error.message : String(error) })
  return {
    get port() {
      return port
    },
    register: (name, nodePort) =>
      Effect.tryPromise({
        try: () => {
          own = { name, port: nodePort }
          return ensure()
        },
        catch: failed(`register ${name} with the embedded registrar on port ${port}`)
      }),
    lookup: (name) =>
      Effect.tryPromise({
        try: async () => {
          const nodeHost = name.slice(name.indexOf("@") + 1)
          if (server !== undefined && table.has(name)) return { host: nodeHost, port: table.get(name)! }
          const found = await ask({ host: nodeHost === "localhost" ? host : nodeHost, port }, name)
          return found === undefined ? undefined : { host: nodeHost, port: found }
        },
        catch: failed(`look ${name} up in the embedded registrar on port ${port}`)
      }),
    close: Effect.async<void>((resume) => {
      closed = true
      client?.destroy()
      for (const s of serverSockets) s.destroy()
      if (server === undefined) return resume(Effect.void)
      server.close(() => resume(Effect.void))
    })
  }
}
