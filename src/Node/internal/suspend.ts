/**
 * Suspending a group of processes with a bounded wait (`sys:suspend` for one, a code
 * upgrade for all processes of a behaviour): each is suspended at once when idle, else
 * when its current handler returns; one still busy when the time is up is not waited for.
 *
 * Not a hot path: it runs once per suspend or upgrade.
 *
 * @internal
 */
import { Effect } from "effect"
import type { Kernel } from "./kernel.js"
import type { Proc } from "./proc.js"
import { RUNNING } from "./proc.js"

/** What became of each process asked to suspend. */
export interface Suspension {
  /** Suspended now, in the order asked. */
  readonly suspended: Array<Proc>
  /** Still in a handler when the time was up (their request withdrawn). */
  readonly busy: Array<Proc>
  /** The caller itself (a process cannot wait for its own handler to return). */
  readonly self: Array<Proc>
  /** Ended before they could be suspended. */
  readonly gone: Array<Proc>
}

/**
 * Suspends `procs`, waiting at most `millis` (kernel time: `TestClock` in tests) for those
 * in a handler. Those suspended stay suspended: the caller resumes them.
 */
export const suspendAll = (kernel: Kernel, procs: ReadonlyArray<Proc>, millis: number): Effect.Effect<Suspension> =>
  Effect.withFiberRuntime<Suspension>((fiber) =>
    Effect.async<Suspension>((resume) => {
      const result: Suspension = { suspended: [], busy: [], self: [], gone: [] }
      const cancels = new Map<Proc, () => void>()
      let finished = false
      let started = false
      let cancelTimer: (() => void) | undefined
      const finish = () => {
        if (finished) return
        finished = true
        cancelTimer?.()
        for (const [proc, cancel] of cancels) {
          cancel()
          result.busy.push(proc)
        }
        cancels.clear()
        resume(Effect.succeed(result))
      }
      for (const proc of procs) {
        // The caller is one of them: in its handler's synchronous part (RUNNING), or on its fiber.
        if (proc.status === RUNNING || (proc.fiber as unknown) === fiber) {
          result.self.push(proc)
          continue
        }
        let answered = false
        const cancel = kernel.suspend(proc, (suspended) => {
          answered = true
          if (finished) return
          cancels.delete(proc)
          ;(suspended ? result.suspended : result.gone).push(proc)
          if (cancels.size === 0 && started) finish()
        })
        if (!answered) cancels.set(proc, cancel)
      }
      started = true
      if (cancels.size === 0) return finish()
      if (millis !== Infinity) cancelTimer = kernel.startTimer(millis, finish)
      return Effect.sync(() => {
        // Interrupted: withdraw what still waits and resume those already suspended.
        if (finished) return
        finished = true
        cancelTimer?.()
        for (const cancel of cancels.values()) cancel()
        for (const proc of result.suspended) kernel.resume(proc)
      })
    })
  )
