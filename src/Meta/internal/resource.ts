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
