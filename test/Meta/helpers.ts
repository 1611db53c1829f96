import { Effect } from "effect"
import * as Net from "node:net"

/** An HTTP request over a fresh connection (no keep-alive pool), bounded to `ms`. */
export const request = (
  port: number,
  path: string,
  init: { readonly method?: string; readonly body?: string | Uint8Array; readonly ms?: number } = {}
): Effect.Effect<{ readonly status: number; readonly body: string; readonly headers: Headers }, Error> =>
  Effect.tryPromise({
    try: async () => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        method: init.method ?? "GET",
        body: init.body,
        headers: { connection: "close" },
        signal: AbortSignal.timeout(init.ms ?? 3000)
      })
      return { status: response.status, body: await response.text(), headers: response.headers }
    },
    catch: (error) => error instanceof Error ? error : new Error(String(error))
  })

/**
 * Writes `bytes` on a raw TCP connection and collects everything until the server
 * closes it (or `ms` passes: then fails).
 */
export const rawExchange = (port: number, bytes: string | Uint8Array, ms = 3000): Effect.Effect<string, Error> =>
  Effect.async<string, Error>((resume) => {
    const socket = Net.createConnection({ host: "127.0.0.1", port })
    const chunks: Array<Buffer> = []
    const timer = setTimeout(() => {
      socket.destroy()
      resume(Effect.fail(new Error(`no close within ${ms} ms; got ${Buffer.concat(chunks).toString()}`)))
    }, ms)
    socket.on("connect", () => socket.write(bytes))
    socket.on("data", (chunk) => chunks.push(chunk))
    socket.on("error", () => {})
    socket.on("close", () => {
      clearTimeout(timer)
      resume(Effect.succeed(Buffer.concat(chunks).toString()))
    })
    return Effect.sync(() => {
      clearTimeout(timer)
      socket.destroy()
    })
  })

/** True when something accepts TCP connections on the port. */
export const accepts = (port: number): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    const socket = Net.createConnection({ host: "127.0.0.1", port })
    const timer = setTimeout(() => (socket.destroy(), resume(Effect.succeed(false))), 2000)
    socket.on("connect", () => (clearTimeout(timer), socket.destroy(), resume(Effect.succeed(true))))
    socket.on("error", () => (clearTimeout(timer), resume(Effect.succeed(false))))
  })

/** Polls `check` every 10 ms until it holds; fails with `what` after `ms`. */
export const eventually = <E, R>(check: Effect.Effect<boolean, E, R>, what: string, ms = 3000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + ms
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.fail(new Error(`timed out waiting for: ${what}`))
      yield* Effect.sleep("10 millis")
    }
  })
