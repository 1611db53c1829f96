/**
 * The I/O resources of a meta process live in a scope the process owns. `terminate`
 * closes it (gracefully); a process killed with `kill` skips `terminate`, so a watcher
 * closes the scope once the process has exited: a meta process never leaks its socket.
 *
 * @internal
 */
import { Effect, Exit, Scope } from "effect"
import type { Context } from "../../Process/Context.js"

/** A scope closed when the calling process exits, however it exits. */
export const ownedScope = (ctx: Context<any, any>): Effect.Effect<Scope.CloseableScope> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* Effect.forkDaemon(Effect.flatMap(ctx.awaitExit(ctx.self), () => Scope.close(scope, Exit.void)))
    return scope
  })

/** Runs `effect` in `scope`, closing the scope if it fails (init failed: nothing may stay open). */
export const inScope = <A, E, R>(
  scope: Scope.CloseableScope,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, Exclude<R, Scope.Scope>> =>
  Scope.extend(effect, scope).pipe(Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause))))

/** `host:port`, bracketing IPv6 hosts. */
export const formatAddress = (host: string, port: number): string =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`

/** Checks a port number; the reason when it is not one. */
export const badPort = (port: unknown): string | undefined =>
  typeof port === "number" && Number.isInteger(port) && port >= 0 && port <= 65535
    ? undefined
    : `must be an integer from 0 to 65535 (got ${String(port)})`

/**
 * The wait before retrying a send to a full mailbox (`attempt` counts from 0): first a few
 * yields, which let the node's drain loop run the receiver, then sleeps of 1 to 4 ms
 * while it stays full. (A process cannot wait on another's mailbox through the public
 * API; the meta process holds its input meanwhile, so nothing piles up.)
 */
export const roomWait = (attempt: number): Effect.Effect<void> =>
  attempt < 8 ? Effect.yieldNow() : Effect.sleep(Math.min(1 << (attempt - 8), 4))
