/**
 * The observer as a process, so that a supervisor (and so an application) can own it: its
 * init starts the observer in a scope the process owns, closed however the process exits
 * (`terminate` is skipped by `kill`, so a watcher closes it), which releases the port.
 *
 * @internal
 */
import { Effect, Exit, Scope } from "effect"
import { kernelOfPid } from "../../Node/internal/kernel.js"
import * as Process from "../../Process/index.js"
import type { Context } from "../../Process/Context.js"
import type { ObserverService, Options } from "../index.js"
import { GetUrl, ObserverStartFailed } from "../index.js"
import { startIn } from "./server.js"

export const Server = Process.make({
  name: "Observer",
  init: (options: Options | undefined, ctx: Context<any, any>) =>
    Effect.gen(function*() {
      const kernel = kernelOfPid(ctx.self)
      if (kernel === undefined) {
        return yield* new ObserverStartFailed({ reason: "network", detail: `the node of ${ctx.self} is not running` })
      }
      const scope = yield* Scope.make()
      yield* Effect.forkDaemon(Effect.flatMap(ctx.awaitExit(ctx.self), () => Scope.close(scope, Exit.void)))
      const observer = yield* Scope.extend(startIn(kernel, options), scope).pipe(
        Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause)))
      )
      yield* Effect.log(`observer of ${kernel.name} at http://${observer.host}:${observer.port}/ (ask it for its URL with GetUrl)`)
      return observer
    }),
  handleCall: (_: GetUrl, _from, observer: ObserverService) => Effect.succeed(Process.reply(observer.url, observer))
})
