/**
 * Runs a handler's Effect without a fiber when it can.
 *
 * Most handlers are synchronous: `Effect.succeed(next)`, a few `Effect.sync`s, an
 * `Effect.gen` that yields only synchronous effects. Starting a fiber for each of them
 * costs about 1µs and several allocations per message, which caps a process at ~1M
 * messages/s. This loop steps Effect's primitive instructions itself (the same ones the
 * fiber runtime steps: Success, Failure, Sync, OnSuccess, OnFailure,
 * OnSuccessAndFailure, Iterator, Commit) and, at the first instruction it does not know
 * (async, services, fiber refs, interruption, ...), rebuilds the rest of the program
 * as an ordinary Effect and hands it to a real fiber. The result is the same either way.
 *
 * It reads `effect`'s internal instruction layout, which is why `effect` is pinned to an
 * exact version in package.json; `test/Process/runLoop.test.ts` checks both paths.
 *
 * @internal
 */
import type { Fiber } from "effect"
import { Effect, Exit, Runtime } from "effect"
import { yieldWrapGet } from "effect/Utils"

interface Primitive {
  readonly _op: string
  readonly effect_instruction_i0: any
  readonly effect_instruction_i1: any
  readonly effect_instruction_i2: any
  commit(): Primitive
}

/** Continuation stack shared by every (possibly re-entrant) run; each run works above its own base. */
const stack: Array<Primitive> = []

/** Resumes a generator-based `Iterator` instruction with the value it was waiting for. */
const resumeIterator = (iterator: Iterator<any, any, any>, value: unknown): Effect.Effect<unknown, unknown, unknown> => {
  let first = true
  const resumed = {
    next(input: unknown) {
      if (first) {
        first = false
        return iterator.next(value)
      }
      return iterator.next(input)
    },
    [Symbol.iterator]() {
      return resumed
    }
  }
  return Effect.gen(() => resumed as any)
}

/** Rebuilds `current` followed by the continuations above `base` as a plain Effect. */
const rebuild = (current: Effect.Effect<unknown, unknown, unknown>, base: number): Effect.Effect<unknown, unknown, unknown> => {
  let effect = current
  while (stack.length > base) {
    const cont = stack.pop()!
    switch (cont._op) {
      case "OnSuccess":
        effect = Effect.flatMap(effect, cont.effect_instruction_i1)
        break
      case "OnFailure":
        effect = Effect.catchAllCause(effect, cont.effect_instruction_i1)
        break
      case "OnSuccessAndFailure":
        effect = Effect.matchCauseEffect(effect, {
          onFailure: cont.effect_instruction_i1,
          onSuccess: cont.effect_instruction_i2
        })
        break
      case "Iterator": {
        const iterator = cont.effect_instruction_i0
        effect = Effect.flatMap(effect, (value) => resumeIterator(iterator, value))
        break
      }
      default:
        throw new Error(`rain runLoop: unexpected continuation ${cont._op}`)
    }
  }
  return effect
}

/** Pops continuations until one takes a success; undefined when none is left above base. */
const nextSuccess = (base: number): Primitive | undefined => {
  while (stack.length > base) {
    const cont = stack.pop()!
    if (cont._op !== "OnFailure") return cont
  }
  return undefined
}

const nextFailure = (base: number): Primitive | undefined => {
  while (stack.length > base) {
    const cont = stack.pop()!
    if (cont._op === "OnFailure" || cont._op === "OnSuccessAndFailure") return cont
  }
  return undefined
}

/**
 * Runs `effect` to completion if it is synchronous and returns its Exit; otherwise
 * forks it on `runtime`, returns the running fiber, and calls `onAsync` with the Exit
 * when it ends. Tell the two apart with {@link isExit}.
 *
 * Hot path: no allocation beyond what the handler itself allocates.
 */
export const runEffect = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  runtime: Runtime.Runtime<R>,
  target: AsyncTarget
): Exit.Exit<A, E> | Fiber.RuntimeFiber<A, E> => {
  const base = stack.length
  let current = effect as unknown as Primitive
  let value: unknown
  for (;;) {
    try {
      switch (current._op) {
        case "Success":
        case "Sync": {
          value = current._op === "Success" ? current.effect_instruction_i0 : current.effect_instruction_i0()
          const cont = nextSuccess(base)
          if (cont === undefined) {
            return current._op === "Success" ? (current as any) : Exit.succeed(value as A)
          }
          current = applySuccess(cont, value)
          break
        }
        case "Failure": {
          const cont = nextFailure(base)
          if (cont === undefined) return current as any
          current = cont.effect_instruction_i1(current.effect_instruction_i0)
          break
        }
        case "OnSuccess":
        case "OnFailure":
        case "OnSuccessAndFailure":
          stack.push(current)
          current = current.effect_instruction_i0
          break
        case "Iterator":
          current = stepIterator(current, undefined)
          break
        case "Commit":
          current = current.commit()
          break
        default:
          return fork(target.wrap(rebuild(current as any, base)) as any, runtime, target)
      }
    } catch (defect) {
      current = Exit.die(defect) as any
    }
  }
}

const applySuccess = (cont: Primitive, value: unknown): Primitive => {
  switch (cont._op) {
    case "OnSuccess":
      return cont.effect_instruction_i1(value)
    case "OnSuccessAndFailure":
      return cont.effect_instruction_i2(value)
    case "Iterator":
      return stepIterator(cont, value)
    default:
      throw new Error(`rain runLoop: unexpected continuation ${cont._op}`)
  }
}

/** Advances a generator while it yields already-completed effects, as the fiber runtime does. */
const stepIterator = (cont: Primitive, value: unknown): Primitive => {
  const iterator: Iterator<any, any, any> = cont.effect_instruction_i0
  for (;;) {
    const state = iterator.next(value)
    if (state.done) return Exit.succeed(state.value) as any
    const yielded = unwrapYield(state.value)
    if (yielded._op === "Success") {
      value = yielded.effect_instruction_i0
      continue
    }
    if (yielded._op === "Failure") return yielded
    stack.push(cont)
    return yielded
  }
}

/** `yield*` on an Effect yields a YieldWrap around it. */
const unwrapYield = (wrapped: any): Primitive => yieldWrapGet(wrapped) as any

const fork = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  runtime: Runtime.Runtime<R>,
  target: AsyncTarget
): Exit.Exit<A, E> | Fiber.RuntimeFiber<A, E> => {
  // `immediate: false` (Effect's default is to start at once): a fiber started on the
  // current thread drains its own queue there,
  // so its cooperative yields are swallowed and a handler that loops (a retry, a long
  // computation) would starve every other process. Started through the runtime's
  // scheduler (the node's, which runs tasks inside its drain loop), it yields properly.
  const fiber = Runtime.runFork(runtime)(effect, { immediate: false })
  fiber.addObserver((exit) => target.resume(exit, fiber))
  return fiber
}

/** Who is told when a forked handler ends, and how its effect is dressed for the fiber (log annotations). */
export interface AsyncTarget {
  resume(exit: Exit.Exit<unknown, unknown>, fiber: Fiber.RuntimeFiber<unknown, unknown>): void
  wrap(effect: Effect.Effect<unknown, unknown, unknown>): Effect.Effect<unknown, unknown, unknown>
}

/** Whether `runEffect` finished synchronously. */
export const isExit = <A, E>(result: Exit.Exit<A, E> | Fiber.RuntimeFiber<A, E>): result is Exit.Exit<A, E> =>
  (result as any)._op === "Success" || (result as any)._op === "Failure"

/** For tests: how deep the shared continuation stack is (0 between runs). */
export const stackDepth = (): number => stack.length
