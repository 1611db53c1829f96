/**
 * The pool process: starts and links its workers, forwards each message and call to one of
 * them, restarts the ones that end (within a restart intensity, as a supervisor), resizes
 * on request and, when every worker's mailbox is full, waits or refuses (`overflow`).
 *
 * Hot path: `dispatch` runs once per message or call through the pool.
 *
 * @internal
 */
import { Duration, Effect } from "effect"
import type { Behaviour } from "../../Process/Behaviour.js"
import type { Options as PublicOptions } from "../index.js"
import { noReply, reply, replyError } from "../../Process/Behaviour.js"
import type { Context } from "../../Process/Context.js"
import * as Reason from "../../Process/ExitReason.js"
import type { From, Info } from "../../Process/Message.js"
import type { Pid } from "../../Process/Pid.js"
import type { Kernel } from "../../Node/internal/kernel.js"
import type { Proc } from "../../Node/internal/proc.js"
import { InvalidPoolOptions, PoolBusy, WorkerStartFailed } from "../errors.js"
import { GetStats, Resize, Stats } from "../Protocol.js"
import { depth, forward, FULL, isAlive, PLACED, procOf, whenRoom } from "../../Node/internal/forward.js"
import { rewriteChildren } from "../../Process/internal/rewriteChildren.js"

/** How a pool picks a worker. */
export type Strategy = "round-robin" | "least-busy"

/** What a pool does when every worker is full. */
export type Overflow = "reject" | { readonly wait: Duration.DurationInput }

/** The options `Pool.make` takes (the public type, documented there), with any worker behaviour. */
export type Options = PublicOptions<any, any, any, any, any, any>

interface Settings {
  readonly label: string
  readonly strategy: Strategy
  readonly workerMailboxSize: number
  readonly waitMillis: number
  readonly intensity: number
  readonly periodMillis: number
}

/** The pool's state: mutable records, since only the pool's own handlers touch them. */
export interface State {
  readonly settings: Settings
  /** The workers' behaviour: `options.worker`, or its new code after `node.upgrade` (see `rewriteChildren`). */
  worker: Behaviour<any, any, any, any, any, any>
  readonly kernel: Kernel
  readonly self: Proc
  /** Worker of each slot; `homes[i]` is the node slot `i` was placed on. */
  readonly workers: Array<Pid>
  readonly homes: Array<string>
  /** Nodes workers are placed on, in turn (this node alone by default). */
  readonly nodes: ReadonlyArray<string>
  cursor: number
  /** Clock times of the restarts within the intensity period. */
  restartTimes: Array<number>
  forwarded: number
  rejected: number
  restarts: number
  /** Whether the last message was refused: one warning per saturated spell, not one per message. */
  saturated: boolean
}

const positiveInteger = (option: string, value: unknown): InvalidPoolOptions | undefined =>
  typeof value === "number" && Number.isInteger(value) && value >= 1
    ? undefined
    : new InvalidPoolOptions({ option, value, expected: "an integer of at least 1" })

/** Checks the options; the first bad one is the error. */
export const validate = (options: Options): InvalidPoolOptions | Settings => {
  if (typeof options !== "object" || options === null) {
    return new InvalidPoolOptions({ option: "options", value: options, expected: "an object { worker, args, size, ... }" })
  }
  const worker: unknown = options.worker
  if (
    typeof worker !== "object" || worker === null || typeof (worker as { name?: unknown }).name !== "string" ||
    typeof (worker as { init?: unknown }).init !== "function"
  ) {
    return new InvalidPoolOptions({ option: "worker", value: worker, expected: "a behaviour made with Process.make" })
  }
  const bad = positiveInteger("size", options.size) ??
    positiveInteger("workerMailboxSize", options.workerMailboxSize ?? 100) ??
    positiveInteger("mailboxSize", options.mailboxSize ?? 1000) ??
    (options.intensity === undefined ? undefined : Number.isInteger(options.intensity) && options.intensity >= 0
      ? undefined
      : new InvalidPoolOptions({ option: "intensity", value: options.intensity, expected: "an integer of at least 0" }))
  if (bad !== undefined) return bad
  const strategy = options.strategy ?? "round-robin"
  if (strategy !== "round-robin" && strategy !== "least-busy") {
    return new InvalidPoolOptions({ option: "strategy", value: strategy, expected: `"round-robin" or "least-busy"` })
  }
  const overflow = options.overflow ?? { wait: "1 second" }
  let waitMillis = 0
  if (overflow !== "reject") {
    const decoded = typeof overflow === "object" && overflow !== null && "wait" in overflow
      ? Duration.decodeUnknown(overflow.wait)
      : undefined
    if (decoded === undefined || decoded._tag === "None" || !Duration.isFinite(decoded.value)) {
      return new InvalidPoolOptions({ option: "overflow", value: overflow, expected: `"reject" or { wait: a finite duration }` })
    }
    waitMillis = Duration.toMillis(decoded.value)
  }
  const period = Duration.decodeUnknown(options.period ?? "5 seconds")
  if (period._tag === "None" || !Duration.isFinite(period.value) || Duration.toMillis(period.value) <= 0) {
    return new InvalidPoolOptions({ option: "period", value: options.period, expected: "a finite duration above zero" })
  }
  if (options.nodes !== undefined && (!Array.isArray(options.nodes) || options.nodes.length === 0)) {
    return new InvalidPoolOptions({ option: "nodes", value: options.nodes, expected: "a non-empty array of node names" })
  }
  return {
    label: options.name ?? `Pool(${options.worker.name})`,
    strategy,
    workerMailboxSize: options.workerMailboxSize ?? 100,
    waitMillis,
    intensity: options.intensity ?? 10,
    periodMillis: Duration.toMillis(period.value)
  }
}

const sameP = (a: Pid, b: Pid): boolean => a.id === b.id && a.node === b.node && a.creation === b.creation

/** Starts one worker on `node`, linked to the pool, on the pool's current worker code. */
const startWorker = (
  options: Options,
  worker: Behaviour<any, any, any, any, any, any>,
  settings: Settings,
  ctx: Context<any, any>,
  node: string
): Effect.Effect<Pid, WorkerStartFailed, any> => {
  const started: Effect.Effect<Pid, unknown, any> = node === ctx.node
    ? ctx.spawnLink(worker, options.args, { mailboxSize: settings.workerMailboxSize })
    : ctx.spawnRemoteLink(node, worker.name, options.args)
  return Effect.mapError(started, (error) =>
    new WorkerStartFailed({
      pool: settings.label,
      node,
      reason: typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)
    }))
}

/** The slots' indices in the order the strategy prefers them. Hot path. */
const preference = (state: State): Array<number> => {
  const n = state.workers.length
  const order = new Array<number>(n)
  for (let k = 0; k < n; k++) order[k] = (state.cursor + k) % n
  if (state.settings.strategy === "least-busy") {
    const depths = state.workers.map((pid) => depth(state.kernel, pid))
    // stable: equal depths keep the round-robin order, so idle workers share the load
    order.sort((a, b) => depths[a]! - depths[b]!)
  }
  return order
}

/** Refuses a message or call: every worker stayed full. */
const refuse = (state: State, ctx: Context<any, any>, from: From | undefined, waitedMillis: number): Effect.Effect<void> => {
  state.rejected++
  const error = new PoolBusy({
    pool: state.settings.label,
    workers: state.workers.length,
    workerMailboxSize: state.settings.workerMailboxSize,
    waitedMillis
  })
  const answer = from === undefined ? Effect.void : ctx.replyError(from, error)
  if (state.saturated) return answer
  state.saturated = true
  return Effect.zipRight(
    Effect.logWarning(`${error.message} Further refusals are counted (Pool.stats) until a message gets through.`),
    answer
  )
}

/** `place` found every worker full. */
const NONE = -1

/** Tries each worker in the strategy's order; the slot that took it, NONE, or an error for the sender. */
const place = (state: State, message: unknown, from: From | undefined): number | { readonly error: unknown } => {
  const order = preference(state)
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!
    const outcome = forward(state.kernel, state.self, state.workers[i]!, message, from)
    if (outcome === PLACED) {
      state.cursor = (i + 1) % state.workers.length
      state.forwarded++
      state.saturated = false
      return i
    }
    if (outcome !== FULL) return outcome
  }
  return NONE
}

/** Waits for room at `worker` until `deadline`; true once the message is in its mailbox. */
const waitForRoom = (state: State, worker: Pid, message: unknown, from: From | undefined, millis: number) =>
  Effect.async<boolean>((resume) => {
    let settled = false
    const timer: { cancel: (() => void) | undefined } = { cancel: undefined }
    const cancelWait = whenRoom(state.kernel, state.self, worker, message, from, (placed) => {
      if (settled) return
      settled = true
      timer.cancel?.()
      resume(Effect.succeed(placed))
    })
    if (settled) return
    timer.cancel = state.kernel.startTimer(millis, () => {
      if (settled) return
      settled = true
      cancelWait()
      resume(Effect.succeed(false))
    })
    return Effect.sync(() => {
      settled = true
      cancelWait()
      timer.cancel?.()
    })
  })

/** Forwards a message (or, with `from`, a call) to a worker. Hot path. */
export const dispatch = (state: State, ctx: Context<any, any>, message: unknown, from: From | undefined): Effect.Effect<void> => {
  const placed = place(state, message, from)
  if (placed !== NONE && typeof placed === "number") {
    const worker = state.workers[placed]!
    return worker.node === state.kernel.name ? Effect.void : state.kernel.remoteBackpressure(worker) ?? Effect.void
  }
  if (placed !== NONE) {
    // the message cannot cross to a remote worker (not a registered class, too large...)
    state.rejected++
    return from === undefined
      ? Effect.logWarning(`Pool ${state.settings.label} dropped a message a remote worker cannot receive: ${String((placed.error as any)?.message ?? placed.error)}`)
      : ctx.replyError(from, placed.error)
  }
  if (state.settings.waitMillis === 0) return refuse(state, ctx, from, 0)
  return Effect.suspend(() => {
    const clock = state.kernel.options.clock
    const started = clock.unsafeCurrentTimeMillis()
    const deadline = started + state.settings.waitMillis
    const attempt: Effect.Effect<void> = Effect.suspend(() => {
      const again = place(state, message, from)
      if (again !== NONE && typeof again === "number") return Effect.void
      if (again !== NONE) return from === undefined ? Effect.void : ctx.replyError(from, again.error)
      const left = deadline - clock.unsafeCurrentTimeMillis()
      // wait in line at the worker the strategy prefers among the local ones (remote ones never look full)
      const worker = preference(state).map((i) => state.workers[i]!).find((pid) => pid.node === state.kernel.name && isAlive(state.kernel, pid))
      if (left <= 0 || worker === undefined) return refuse(state, ctx, from, clock.unsafeCurrentTimeMillis() - started)
      return Effect.flatMap(waitForRoom(state, worker, message, from, left), (done) => {
        if (!done) return attempt
        state.forwarded++
        state.saturated = false
        return Effect.void
      })
    })
    return attempt
  })
}

/** Restarts the worker of `slot` (on its home node, then the next nodes in turn), within the intensity. */
const restart = (
  options: Options,
  state: State,
  ctx: Context<any, any>,
  slot: number,
  reason: Reason.ExitReason
): Effect.Effect<void, never, any> =>
  Effect.gen(function*() {
    const home = state.nodes.indexOf(state.homes[slot]!)
    for (let attempt = 0;; attempt++) {
      const now = yield* ctx.currentTimeMillis
      state.restartTimes = state.restartTimes.filter((t) => now - t < state.settings.periodMillis)
      state.restartTimes.push(now)
      if (state.restartTimes.length > state.settings.intensity) {
        const why = `more than ${state.settings.intensity} worker restarts within ${state.settings.periodMillis}ms`
        yield* Effect.logError(`Pool ${state.settings.label} gives up: ${why} (last: ${Reason.format(reason)}).`)
        yield* ctx.stop(Reason.shutdownWith(`pool restart intensity reached: ${why}`))
        return
      }
      const node = state.nodes[(Math.max(home, 0) + attempt) % state.nodes.length]!
      const started = yield* Effect.either(startWorker(options, state.worker, state.settings, ctx, node))
      if (started._tag === "Right") {
        state.workers[slot] = started.right
        state.homes[slot] = node
        state.restarts++
        return
      }
      yield* Effect.logWarning(started.left.message)
    }
  })

/** Grows or shrinks to `size`; the new size, or why not. */
const resize = (options: Options, state: State, ctx: Context<any, any>, size: number) =>
  Effect.gen(function*() {
    const bad = positiveInteger("size", size)
    if (bad !== undefined) return yield* Effect.fail(bad)
    while (state.workers.length < size) {
      const node = state.nodes[state.workers.length % state.nodes.length]!
      const pid = yield* startWorker(options, state.worker, state.settings, ctx, node)
      state.workers.push(pid)
      state.homes.push(node)
    }
    while (state.workers.length > size) {
      // the least busy worker goes: the fewest queued messages are lost
      let victim = 0
      for (let i = 1; i < state.workers.length; i++) {
        if (depth(state.kernel, state.workers[i]!) < depth(state.kernel, state.workers[victim]!)) victim = i
      }
      const [pid] = state.workers.splice(victim, 1)
      state.homes.splice(victim, 1)
      yield* ctx.unlink(pid!)
      yield* ctx.exit(pid!, Reason.shutdown)
    }
    state.cursor = state.cursor % state.workers.length
    return state.workers.length
  })

const statsOf = (state: State): Stats =>
  new Stats({
    size: state.workers.length,
    workers: state.workers.slice(),
    strategy: state.settings.strategy,
    forwarded: state.forwarded,
    rejected: state.rejected,
    restarts: state.restarts
  }, true)

/** The pool behaviour for `options` (see `Pool.make`). */
export const make = (options: Options): Behaviour<State, void, any, any, InvalidPoolOptions | WorkerStartFailed, any> => {
  const checked = validate(options)
  const mailboxSize = checked instanceof InvalidPoolOptions ? 1000 : options.mailboxSize ?? 1000
  return {
    name: checked instanceof InvalidPoolOptions ? "Pool" : checked.label,
    init: (_: void, ctx) =>
      Effect.gen(function*() {
        if (checked instanceof InvalidPoolOptions) return yield* Effect.fail(checked)
        const { kernel, proc } = procOf(ctx.self)
        const nodes = options.nodes ?? [ctx.node]
        const state: State = {
          settings: checked,
          worker: options.worker,
          kernel,
          self: proc,
          workers: [],
          homes: [],
          nodes,
          cursor: 0,
          restartTimes: [],
          forwarded: 0,
          rejected: 0,
          restarts: 0,
          saturated: false
        }
        for (let i = 0; i < options.size; i++) {
          const node = nodes[i % nodes.length]!
          state.workers.push(yield* startWorker(options, state.worker, checked, ctx, node))
          state.homes.push(node)
        }
        return state
      }),
    handleMessage: (message: unknown, state, ctx) => Effect.as(dispatch(state, ctx, message, undefined), state),
    handleCall: (request: unknown, from, state, ctx) => {
      if (request instanceof Resize) {
        return resize(options, state, ctx, request.size).pipe(
          Effect.match({ onFailure: (error) => replyError(error, state), onSuccess: (size) => reply(size, state) })
        )
      }
      if (request instanceof GetStats) return Effect.succeed(reply(statsOf(state), state))
      return Effect.as(dispatch(state, ctx, request, from), noReply(state))
    },
    handleInfo: (info: Info, state, ctx) => {
      if (info._tag !== "Exit") return Effect.succeed(state)
      const slot = state.workers.findIndex((pid) => sameP(pid, info.from))
      if (slot < 0) return Effect.succeed(state)
      return Effect.as(restart(options, state, ctx, slot, info.reason), state)
    },
    describe: (state) => ({
      size: state.workers.length,
      strategy: state.settings.strategy,
      forwarded: state.forwarded,
      rejected: state.rejected,
      restarts: state.restarts
    }),
    options: { trapExit: true, mailboxSize },
    // `node.upgrade` of the workers' behaviour: the workers it starts from then on run the new code
    [rewriteChildren]: (state: State, targetOf: (b: Behaviour<any, any, any, any, any, any>) => unknown) => {
      const next = targetOf(state.worker)
      if (next === undefined || next === state.worker) return false
      state.worker = next as Behaviour<any, any, any, any, any, any>
      return true
    }
  } as Behaviour<State, void, any, any, InvalidPoolOptions | WorkerStartFailed, any>
}
