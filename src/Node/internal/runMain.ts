/**
 * A program's main for Node.js: what `@effect/platform-node`'s `NodeRuntime.runMain` does,
 * on `effect`'s public API alone, so that Rain's only runtime dependencies are `effect` (a
 * peer) and `msgpackr`. Depending on `@effect/platform-node` for these few lines would
 * install, through its peer dependencies, `@effect/cluster`, `@effect/sql`, `@effect/rpc`,
 * `@effect/workflow` and a native file watcher into every user's project, and tie the
 * supported `effect` range to theirs.
 *
 * Behaviour (the same as NodeRuntime.runMain): logs run through the pretty logger when the
 * default logger is in place; a failure other than interruption is logged and exits with
 * code 1; SIGINT/SIGTERM interrupt the program (which stops the node cleanly) and then
 * exit; a program that ends by itself lets the process exit when nothing else keeps it.
 *
 * @internal
 */
import { Cause, Effect, Exit, FiberRef, FiberRefs, HashSet, Logger } from "effect"
import type { FiberId } from "effect"

const usePrettyLogger = (refs: FiberRefs.FiberRefs, fiberId: FiberId.Runtime): FiberRefs.FiberRefs => {
  const loggers = FiberRefs.getOrDefault(refs, FiberRef.currentLoggers)
  if (!HashSet.has(loggers, Logger.defaultLogger)) return refs
  return FiberRefs.updateAs(refs, {
    fiberId,
    fiberRef: FiberRef.currentLoggers,
    value: loggers.pipe(HashSet.remove(Logger.defaultLogger), HashSet.add(Logger.prettyLoggerDefault))
  })
}

/** Runs `effect` as the OS process's main program (see the header). */
export const runMain = <A, E>(effect: Effect.Effect<A, E>): void => {
  let receivedSignal = false
  const onSignal = () => {
    receivedSignal = true
    process.removeListener("SIGINT", onSignal)
    process.removeListener("SIGTERM", onSignal)
    fiber.unsafeInterruptAsFork(fiber.id())
  }
  // Listening before the program runs: its first steps run synchronously inside `runFork`
  // (a node starting, processes spawning), and a signal that arrives meanwhile must stop it
  // cleanly, not take the default action (death, no `terminate`). Node delivers signals
  // from the event loop, so `onSignal` runs after `runFork` returned and `fiber` is defined.
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  const fiber = Effect.runFork(
    Effect.tapErrorCause(effect, (cause) => Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError(cause)),
    { updateRefs: usePrettyLogger }
  )
  // a timer keeps the event loop alive while the program waits on something that does not (a node's `wait`)
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
  fiber.addObserver((exit) => {
    if (!receivedSignal) {
      process.removeListener("SIGINT", onSignal)
      process.removeListener("SIGTERM", onSignal)
    }
    clearInterval(keepAlive)
    const code = Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? 1 : 0
    if (receivedSignal || code !== 0) process.exit(code)
  })
}
