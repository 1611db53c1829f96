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
 * It reads `effect`'s internal instruction layout, which a newer `effect` may change. So
 * the first run checks the assumptions (see `probe`): a few effects that exercise every
 * instruction and field the loop reads run through it and must give what
 * `Effect.runSyncExit` gives. When one does not (or `RAIN_RUNLOOP=fiber` is set), Rain
 * logs one warning and runs every handler on a fiber through the public API: slower,
 * never wrong. `test/Process/runLoop.test.ts` checks both paths.
 *
 * @internal
 */
import type { Fiber } from "effect"
import { Cause, Effect, Equal, Exit, Runtime } from "effect"
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
  if (mode !== "fast") {
    if (mode === undefined) mode = checkAssumptions()
    if (mode === "fiber") return fork(target.wrap(effect as any) as any, runtime, target)
  }
  return step(effect, runtime, target)
}

/** The fast path proper: steps the instructions, forks at the first one it does not know. */
const step = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  runtime: Runtime.Runtime<R> | undefined,
  target: AsyncTarget | undefined
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
          if (target === undefined) {
            // a probe (see checkAssumptions) met an instruction it should have known
            stack.length = base
            return unknownInstruction
          }
          return fork(target.wrap(rebuild(current as any, base)) as any, runtime!, target)
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
  mode === "fast" ? (result as any)._op === "Success" || (result as any)._op === "Failure" : Exit.isExit(result)

// --- start-up check of the assumptions, and the fallback ---

/** "fast": the stepper runs synchronous handlers; "fiber": every handler runs on a fiber; undefined: not checked yet. */
let mode: "fast" | "fiber" | undefined

const unknownInstruction = Exit.die("rain runLoop probe: unknown instruction") as Exit.Exit<never, never>

class ProbeError {
  readonly _tag = "ProbeError"
  constructor(readonly n: number) {}
}

// Effect.fail itself captures a span through the fiber (WithRuntime), so it always takes a fiber:
// the probes fail with the Failure instruction directly
const failWith = (n: number) => Effect.failCause(Cause.fail(new ProbeError(n)))

/**
 * Effects that exercise every instruction and field the stepper reads (Success, Failure,
 * Sync, OnSuccess, OnFailure, OnSuccessAndFailure, Iterator, Commit, the YieldWrap of
 * `yield*`, defects thrown in `sync` and in a generator) and never need a fiber: each
 * must finish on the fast path with the Exit `Effect.runSyncExit` gives.
 */
export type Probe = readonly [name: string, make: () => Effect.Effect<unknown, unknown>]

const probes: ReadonlyArray<Probe> = [
  ["succeed", () => Effect.succeed(1)],
  ["sync", () => Effect.sync(() => 2)],
  ["fail", () => failWith(3)],
  ["flatMap/map", () => Effect.succeed(1).pipe(Effect.flatMap((n) => Effect.sync(() => n + 1)), Effect.map((n) => n * 10))],
  ["catchAll", () => failWith(4).pipe(Effect.catchAll((e) => Effect.succeed(e.n + 1)))],
  ["catchAllCause of a defect", () =>
    Effect.sync((): number => {
      throw new Error("probe")
    }).pipe(Effect.catchAllCause((cause) => Effect.succeed(Cause.isDie(cause) ? 5 : -5)))],
  ["matchEffect", () =>
    failWith(6).pipe(
      Effect.matchEffect({ onFailure: (e) => Effect.succeed(e.n + 1), onSuccess: () => Effect.succeed(0) })
    )],
  ["matchEffect on success", () =>
    Effect.succeed(7).pipe(Effect.matchEffect({ onFailure: () => Effect.succeed(0), onSuccess: (n) => Effect.succeed(n + 1) }))],
  ["gen", () =>
    Effect.gen(function*() {
      const a = yield* Effect.succeed(1)
      const b = yield* Effect.sync(() => 2)
      const c = yield* Effect.succeed(3).pipe(Effect.map((n) => n + 1))
      return a + b + c
    })],
  ["fnUntraced", () => Effect.fnUntraced(function*(n: number) {
    return (yield* Effect.sync(() => n)) * 2
  })(21)],
  ["gen yielding a failure", () =>
    Effect.gen(function*() {
      yield* failWith(9)
      return 0
    })],
  ["gen catching inside", () =>
    Effect.gen(function*() {
      const n = yield* failWith(10).pipe(Effect.catchAll((e) => Effect.succeed(e.n)))
      return n + 1
    })],
  ["throw in a generator", () =>
    Effect.gen(function*() {
      yield* Effect.succeed(1)
      throw new Error("probe")
    })],
  ["exit", () => Effect.exit(failWith(12)).pipe(Effect.map(Exit.isFailure))]
]

const sameExit = (actual: Exit.Exit<unknown, unknown>, expected: Exit.Exit<unknown, unknown>): boolean => {
  if (!Exit.isExit(actual) || actual._tag !== expected._tag) return false
  if (Exit.isSuccess(actual) && Exit.isSuccess(expected)) return Equal.equals(actual.value, expected.value)
  if (Exit.isFailure(actual) && Exit.isFailure(expected)) {
    const a = Cause.squash(actual.cause)
    const b = Cause.squash(expected.cause)
    if (a instanceof ProbeError && b instanceof ProbeError) return a.n === b.n
    return a instanceof Error && b instanceof Error && a.message === b.message
  }
  return false
}

/** What does not hold, or undefined when the stepper agrees with the fiber runtime on every probe. */
export const probe = (list: ReadonlyArray<Probe> = probes): string | undefined => {
  try {
    // isExit relies on an Exit's _op, and the stepper returns Exits made by Exit.succeed/Exit.die
    if ((Exit.succeed(0) as any)._op !== "Success" || (Exit.fail(0) as any)._op !== "Failure") {
      return "Exit values no longer carry the _op the stepper tests"
    }
    for (const [name, make] of list) {
      const expected = Effect.runSyncExit(make())
      const actual = step(make(), undefined, undefined)
      if (actual === unknownInstruction) return `probe "${name}" met an instruction the stepper does not know`
      if (!sameExit(actual as Exit.Exit<unknown, unknown>, expected)) {
        return `probe "${name}" gave ${String(actual)}, the fiber runtime ${String(expected)}`
      }
      if (stack.length !== 0) return `probe "${name}" left continuations on the stack`
    }
    return undefined
  } catch (error) {
    stack.length = 0
    return `a probe threw: ${error instanceof Error ? error.message : String(error)}`
  }
}

/** Which path to take: "fiber" when `RAIN_RUNLOOP=fiber` or a probe fails (then with one warning). */
export const checkAssumptions = (list: ReadonlyArray<Probe> = probes): "fast" | "fiber" => {
  if (process.env["RAIN_RUNLOOP"] === "fiber") return "fiber"
  const failed = probe(list)
  if (failed === undefined) return "fast"
  warn(failed)
  return "fiber"
}

const warn = (failed: string): void => {
  const version: unknown = (Effect.void as any)[Effect.EffectTypeId]?._V
  process.emitWarning(
    `Rain's fast handler loop does not recognise this version of effect (${String(version)}): ${failed}. ` +
      "Every handler now runs on a fiber through effect's public API: results are the same, messaging is slower. " +
      "Use the effect version Rain's peerDependencies name, or report it to Rain.",
    { code: "RAIN_RUNLOOP_FALLBACK" }
  )
}

/**
 * For tests and diagnosis: "fiber" forces the public-API path (as `RAIN_RUNLOOP=fiber`
 * does), "fast" the stepper, undefined checks the assumptions again at the next run.
 */
export const setMode = (next: "fast" | "fiber" | undefined): void => {
  mode = next
}

/** Which path handlers take (undefined until the first run checked). */
export const currentMode = (): "fast" | "fiber" | undefined => mode

/** For tests: how deep the shared continuation stack is (0 between runs). */
export const stackDepth = (): number => stack.length
