/**
 * The observer's HTTP server: the page, its bundle, and a small JSON API over the control
 * plane of every node it can see (`clients.ts`), plus the chart sampler (`sampler.ts`).
 * Every API answer is JSON; every failure is `{ error, message }` with a status that says
 * whose fault it was (400 bad input, 401 token, 403 read-only, 404 no such process, 502 the
 * node could not be asked).
 *
 * @internal
 */
import { HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import type { Scope } from "effect"
import { Duration, Effect, Option } from "effect"
import * as crypto from "node:crypto"
import * as Http from "node:http"
import type { NodeService } from "../../Node/index.js"
import type { Kernel } from "../../Node/internal/kernel.js"
import type { Control } from "../../Rpc/index.js"
import type { ObserverService, Options } from "../index.js"
import { ObserverStartFailed } from "../index.js"
import * as Assets from "./assets.js"
import type { Clients } from "./clients.js"
import * as clientsOf from "./clients.js"
import { NodeUnavailable } from "./clients.js"
import { PAGE } from "./page.js"
import * as Sampler from "./sampler.js"

/** A request the API cannot serve as given; `message` says what to send instead. */
class BadRequest {
  readonly _tag = "BadRequest"
  constructor(readonly status: number, readonly error: string, readonly message: string) {}
}

type ApiError = BadRequest | NodeUnavailable | Control.ProcessNotFound | Control.OperationFailed
type Answer = Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError>

const SORTS: ReadonlyArray<Control.SortBy> = ["pid", "mailbox", "messages", "rate", "memory", "status"]
const MAX_BODY = 64 * 1024

const json = (status: number, body: unknown) =>
  HttpServerResponse.unsafeJson(body, { status, headers: { "cache-control": "no-store" } })

const fail = (status: number, error: string, message: string) => json(status, { error, message })

const sha = (text: string) => crypto.createHash("sha256").update(text).digest()

const tokenMatches = (expected: Buffer, given: string | undefined): boolean =>
  given !== undefined && crypto.timingSafeEqual(expected, sha(given))

const intParam = (params: URLSearchParams, key: string, min: number, max: number): number | undefined => {
  const raw = params.get(key)
  if (raw === null || raw === "") return undefined
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new BadRequest(400, "InvalidParameter", `${key} must be a whole number from ${min} to ${max}, got "${raw}"`)
  }
  return n
}

const optionsProblem = (options: Options): string | undefined => {
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) {
    return `port must be a whole number from 0 to 65535 (0 for a free one), got ${String(options.port)}`
  }
  if (options.token !== undefined && options.token.length < 8) {
    return "token must be at least 8 characters (leave it out for a random one)"
  }
  if (options.history !== undefined && (!Number.isInteger(options.history) || options.history < 2 || options.history > 100_000)) {
    return `history must be a whole number of samples from 2 to 100000, got ${String(options.history)}`
  }
  if (options.sampleInterval !== undefined) {
    const d = Duration.decodeUnknown(options.sampleInterval)
    if (Option.isNone(d) || !(Duration.toMillis(d.value) >= 100) || !Number.isFinite(Duration.toMillis(d.value))) {
      return `sampleInterval must be a finite duration of at least 100 millis, got ${String(options.sampleInterval)}`
    }
  }
  return undefined
}

const api = (
  clients: Clients,
  sampler: Sampler.Sampler,
  readOnly: boolean,
  method: string,
  parts: ReadonlyArray<string>,
  params: URLSearchParams,
  request: HttpServerRequest.HttpServerRequest
): Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError> => {
  const notFound = () => Effect.fail(new BadRequest(404, "NotFound", `no API route ${method} /api/${parts.join("/")}`))
  const get = method === "GET" || method === "HEAD"
  if (parts.length === 1 && parts[0] === "config" && get) {
    return Effect.succeed(json(200, { node: clients.self, readOnly }))
  }
  if (parts.length === 1 && parts[0] === "metrics" && get) return Effect.succeed(json(200, sampler.snapshot()))
  if (parts.length === 1 && parts[0] === "nodes" && get) {
    return Effect.map(clients.nodes, (nodes) => json(200, { nodes: nodes.map((name) => ({ name, self: name === clients.self })) }))
  }
  if (parts[0] !== "nodes" || parts.length < 3) return notFound()
  const node = parts[1]!
  const rest = parts.slice(2)
  if (rest.length === 1 && rest[0] === "info" && get) return clients.use(node, (c) => c.Info()).pipe(Effect.map((i) => json(200, i)))
  if (rest.length === 1 && rest[0] === "applications" && get) {
    return clients.use(node, (c) => c.Tree()).pipe(Effect.map((apps) => json(200, { applications: apps })))
  }
  if (rest[0] !== "processes") return notFound()
  if (rest.length === 1 && get) {
    return Effect.suspend((): Answer => {
      const sortText = params.get("sort") ?? "pid"
      if (!SORTS.includes(sortText as Control.SortBy)) {
        return Effect.fail(new BadRequest(400, "InvalidParameter", `sort must be one of ${SORTS.join(", ")}, got "${sortText}"`))
      }
      const payload = {
        offset: intParam(params, "offset", 0, Number.MAX_SAFE_INTEGER),
        limit: intParam(params, "limit", 1, 1000),
        sort: sortText as Control.SortBy,
        name: params.get("name") || undefined,
        behaviour: params.get("behaviour") || undefined
      }
      return clients.use(node, (c) => c.Processes(payload)).pipe(Effect.map((page) => json(200, page)))
    }).pipe(Effect.catchAllDefect((d) => (d instanceof BadRequest ? Effect.fail(d) : Effect.die(d))))
  }
  const process = rest[1]!
  if (rest.length === 2 && get) {
    return Effect.suspend((): Answer => {
      const stateLimit = intParam(params, "stateLimit", 16, 1_000_000) ?? 4096
      return clients.use(node, (c) => c.Process({ process, stateLimit })).pipe(Effect.map((d) => json(200, d)))
    }).pipe(Effect.catchAllDefect((d) => (d instanceof BadRequest ? Effect.fail(d) : Effect.die(d))))
  }
  if (rest.length === 3 && method === "POST" && rest[2] === "trace") {
    if (readOnly) {
      return Effect.fail(
        new BadRequest(403, "ReadOnly", "this observer is read-only: turning tracing on or off is refused (start it with readOnly: false)")
      )
    }
    return Effect.suspend((): Answer => {
      const last = intParam(params, "last", 0, 10_000)
      if (last === undefined) {
        return Effect.fail(new BadRequest(400, "InvalidParameter", "give last=N: keep the last N (1 to 10000) messages, or 0 to stop tracing"))
      }
      return clients.use(node, (c) => c.Trace({ process, last })).pipe(Effect.as(json(200, { traced: process, last })))
    }).pipe(Effect.catchAllDefect((d) => (d instanceof BadRequest ? Effect.fail(d) : Effect.die(d))))
  }
  if (rest.length === 3 && method === "POST" && (rest[2] === "kill" || rest[2] === "send")) {
    if (readOnly) {
      return Effect.fail(
        new BadRequest(403, "ReadOnly", `this observer is read-only: ${rest[2]} is refused (start it with readOnly: false)`)
      )
    }
    if (rest[2] === "kill") {
      return clients.use(node, (c) => c.Exit({ process, reason: "kill" })).pipe(Effect.as(json(200, { killed: process })))
    }
    return request.text.pipe(
      Effect.mapError(() => new BadRequest(400, "InvalidBody", "the request body could not be read")),
      Effect.flatMap((text): Answer => {
        if (text.length > MAX_BODY) {
          return Effect.fail(new BadRequest(413, "BodyTooLarge", `a test message is at most ${MAX_BODY} bytes of JSON`))
        }
        let body: unknown
        try {
          body = JSON.parse(text)
        } catch {
          return Effect.fail(new BadRequest(400, "InvalidBody", 'the body must be JSON: { "message": <any JSON value> }'))
        }
        if (typeof body !== "object" || body === null || !("message" in body)) {
          return Effect.fail(new BadRequest(400, "InvalidBody", 'the body must be JSON: { "message": <any JSON value> }'))
        }
        const message = (body as { readonly message: unknown }).message
        return clients.use(node, (c) => c.Send({ process, message })).pipe(Effect.as(json(200, { sent: process })))
      })
    )
  }
  return notFound()
}

const errorResponse = (e: ApiError) => {
  if (e instanceof BadRequest) return fail(e.status, e.error, e.message)
  if (e instanceof NodeUnavailable) return fail(502, "NodeUnavailable", e.message)
  if (e._tag === "rain/Rpc/ProcessNotFound") return fail(404, "ProcessNotFound", e.message)
  return fail(409, "OperationFailed", e.message)
}

/** @internal */
export const start = (node: NodeService, options: Options = {}): Effect.Effect<ObserverService, ObserverStartFailed, Scope.Scope> =>
  startWith(clientsOf.make(node), options)

/** The observer of the node a kernel runs (the observer as a process). */
export const startIn = (kernel: Kernel, options: Options = {}): Effect.Effect<ObserverService, ObserverStartFailed, Scope.Scope> =>
  startWith(clientsOf.fromKernel(kernel), options)

const startWith = (
  makeClients: Effect.Effect<Clients, string, Scope.Scope>,
  options: Options
): Effect.Effect<ObserverService, ObserverStartFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const problem = optionsProblem(options)
    if (problem !== undefined) return yield* new ObserverStartFailed({ reason: "options", detail: problem })
    const host = options.host ?? "127.0.0.1"
    const token = options.token ?? crypto.randomBytes(18).toString("base64url")
    const expected = sha(token)
    const readOnly = options.readOnly ?? true
    const clients = yield* makeClients.pipe(
      Effect.mapError((detail) => new ObserverStartFailed({ reason: "network", detail }))
    )
    const assets = yield* Assets.load.pipe(Effect.mapError((detail) => new ObserverStartFailed({ reason: "options", detail })))
    const sampler = yield* Sampler.start(clients, {
      interval: options.sampleInterval ?? "1 second",
      history: options.history ?? 300
    })

    const app = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const url = new URL(request.url, "http://observer")
      let parts: Array<string>
      try {
        parts = url.pathname.split("/").filter((p) => p !== "").map(decodeURIComponent)
      } catch {
        return Effect.succeed(fail(400, "InvalidPath", `the path ${url.pathname} is not valid percent-encoding`))
      }
      if (parts.length === 2 && parts[0] === "assets" && request.method === "GET") {
        if (parts[1] === "observer.js") {
          return Effect.succeed(HttpServerResponse.text(assets.js, { contentType: "text/javascript; charset=utf-8" }))
        }
        if (parts[1] === "observer.css") {
          return Effect.succeed(HttpServerResponse.text(assets.css, { contentType: "text/css; charset=utf-8" }))
        }
      }
      if (parts.length === 0 && request.method === "GET") {
        if (!tokenMatches(expected, url.searchParams.get("token") ?? undefined)) {
          return Effect.succeed(HttpServerResponse.text(
            "This observer needs its token: open the URL it printed (http://host:port/?token=...).\n",
            { status: 401 }
          ))
        }
        return Effect.succeed(HttpServerResponse.html(PAGE).pipe(
          HttpServerResponse.setHeaders({
            "content-security-policy":
              "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
            "referrer-policy": "no-referrer",
            "x-content-type-options": "nosniff"
          })
        ))
      }
      if (parts[0] !== "api") return Effect.succeed(fail(404, "NotFound", `nothing at ${url.pathname}`))
      const header = request.headers["authorization"]
      const given = header?.startsWith("Bearer ") ? header.slice(7) : request.headers["x-observer-token"]
      if (!tokenMatches(expected, given)) {
        return Effect.succeed(
          fail(401, "Unauthorized", "send the observer's token: Authorization: Bearer <token> (it is in the URL it printed)")
        )
      }
      return api(clients, sampler, readOnly, request.method, parts.slice(1), url.searchParams, request).pipe(
        Effect.catchAll((e) => Effect.succeed(errorResponse(e))),
        Effect.catchAllDefect((d) =>
          Effect.succeed(fail(500, "InternalError", `the observer failed on this request: ${d instanceof Error ? d.message : String(d)}`))
        )
      )
    })

    const server = yield* NodeHttpServer.make(() => Http.createServer(), { host, port: options.port ?? 0 }).pipe(
      Effect.mapError((e) =>
        new ObserverStartFailed({
          reason: "listen",
          detail: `cannot listen on ${host}:${options.port ?? 0}: ${e.cause instanceof Error ? e.cause.message : String(e.cause)}`
        })
      )
    )
    yield* server.serve(app)
    const port = server.address._tag === "TcpAddress" ? server.address.port : options.port ?? 0
    const shown = host.includes(":") ? `[${host}]` : host
    return { host, port, token, readOnly, url: `http://${shown}:${port}/?token=${encodeURIComponent(token)}` }
  })
