/**
 * What a supervisor does: start, stop and restart children by its strategy and
 * intensity. Every function runs inside the supervisor process.
 *
 * @internal
 */
import { Duration, Effect, LogLevel, Option, ScheduleDecision, ScheduleIntervals } from "effect"
import { restartSpawn } from "../../Node/internal/memory.js"
import { countRestart, reportsOf } from "../../Node/internal/reports.js"
import type { CallResult, SpawnOptions, SuccessOf } from "../../Process/Behaviour.js"
import { reply, replyError } from "../../Process/Behaviour.js"
import type { Context } from "../../Process/Context.js"
import type { SpawnError } from "../../Process/errors.js"
import * as Reason from "../../Process/ExitReason.js"
import type { ExitReason } from "../../Process/ExitReason.js"
import { isPid } from "../../Process/Pid.js"
import type { Pid } from "../../Process/Pid.js"
import type { Request } from "../Protocol.js"
import {
  ChildAlreadyPresent,
  ChildCounts,
  ChildInfo,
  ChildNotFound,
  ChildRunning,
  ChildStartFailed,
  DelayedRestart
} from "../Protocol.js"
import type { ChildSpec } from "../Spec.js"
import type { ChildState, State } from "./state.js"
import { pidKey } from "./state.js"

type Ctx = Context<any, any>

const describe = (error: SpawnError): string =>
  error._tag === "InitFailed" ? Reason.format(error.reason) : error.message

/**
 * A supervisor report (OTP's `supervisor_report`): through the node's rate-limited
 * reports, with the supervisor's pid and the child's id, pid and reason as annotations.
 */
const report = (
  ctx: Ctx,
  level: LogLevel.LogLevel,
  describe: () => readonly [text: string, fields: Record<string, string>]
): Effect.Effect<void> =>
  Effect.sync(() => {
    const reports = reportsOf(ctx.self)
    // Admitted first: under a restart storm the suppressed reports are never formatted.
    if (reports === undefined || !reports.admit()) return
    const [text, fields] = describe()
    reports.log(level, `supervisor report: ${ctx.self.toString()} ${text}`, {
      supervisor: ctx.self.toString(),
      node: ctx.node,
      report: "supervisor",
      ...fields
    })
  })

/**
 * Starts one child, linked. Children run with the supervisor's services (those of whoever
 * started the tree), which the types cannot follow through a child list: hence the cast.
 * A restart is not refused above the node's memory limit: it replaces what the crash
 * freed, and refusing it would make the supervisor give up (shedding load, not the tree).
 */
const startChild = (ctx: Ctx, child: ChildState, restart = false): Effect.Effect<Pid, ChildStartFailed> =>
  ctx.spawnLink(child.spec.behaviour, child.args, spawnOptions(child, restart)).pipe(
    Effect.tap((pid) => Effect.sync(() => void (child.pid = pid))),
    Effect.mapError((error) => new ChildStartFailed({ child: child.id, reason: describe(error) }))
  ) as Effect.Effect<Pid, ChildStartFailed>

const spawnOptions = (child: ChildState, restart: boolean): SpawnOptions | undefined => {
  if (!restart) return child.spec.name === undefined ? undefined : { name: child.spec.name }
  const options: Record<string | symbol, unknown> = { [restartSpawn]: true }
  if (child.spec.name !== undefined) options["name"] = child.spec.name
  return options as SpawnOptions
}

/** init: starts every child in order; on a failure stops those started, in reverse, and fails. */
export const startAll = (state: State, ctx: Ctx): Effect.Effect<State, ChildStartFailed> =>
  Effect.gen(function*() {
    for (const child of state.children) {
      const started = yield* Effect.either(startChild(ctx, child))
      if (started._tag === "Left") {
        yield* stopAll(state, ctx)
        return yield* Effect.fail(started.left)
      }
    }
    return state
  })

const defaultShutdown = (spec: ChildSpec) => spec.shutdown ?? (spec.type === "supervisor" ? "infinity" : 5000)

/** Stops one child by its shutdown spec: ask with `shutdown`, kill after the timeout (or at once). */
export const stopChild = (state: State, ctx: Ctx, child: ChildState): Effect.Effect<void> =>
  Effect.suspend(() => {
    const pid = child.pid
    if (pid === undefined) return Effect.void
    child.pid = undefined
    state.stopping.add(pidKey(pid))
    const shutdown = defaultShutdown(child.spec)
    if (shutdown === "brutal_kill") return ctx.exit(pid, Reason.kill).pipe(Effect.zipRight(ctx.awaitExit(pid)), Effect.asVoid)
    const asked = ctx.exit(pid, Reason.shutdown)
    if (shutdown === "infinity") return asked.pipe(Effect.zipRight(ctx.awaitExit(pid)), Effect.asVoid)
    return asked.pipe(
      Effect.zipRight(Effect.timeoutOption(ctx.awaitExit(pid), Duration.millis(shutdown))),
      Effect.flatMap((ended) =>
        Option.isSome(ended) ? Effect.void : ctx.exit(pid, Reason.kill).pipe(Effect.zipRight(ctx.awaitExit(pid)), Effect.asVoid)
      )
    )
  })

/** Stops every running child, newest first. */
export const stopAll = (state: State, ctx: Ctx): Effect.Effect<void> =>
  Effect.forEach(state.children.slice().reverse(), (child) => stopChild(state, ctx, child), { discard: true })

/** Gives up: children stopped in reverse order, the supervisor ends with `shutdown`. */
const giveUp = (state: State, ctx: Ctx, why: string): Effect.Effect<State> =>
  report(ctx, LogLevel.Error, () => [`giving up: ${why}; stopping its children and shutting down`, {
    errorContext: "shutdown",
    reason: why
  }]).pipe(
    Effect.zipRight(stopAll(state, ctx)),
    Effect.zipRight(ctx.stop(Reason.shutdown)),
    Effect.as(state)
  )

/** Records a restart; false when it goes past the intensity. */
const recordRestart = (state: State, ctx: Ctx): Effect.Effect<boolean> =>
  Effect.map(ctx.currentTimeMillis, (now) => {
    const period = Duration.toMillis(state.spec.period)
    // Oldest first: drop the restarts that left the period from the front (no scan of the
    // whole history per restart: a large intensity must not make each restart slower).
    let expired = 0
    while (expired < state.restarts.length && now - state.restarts[expired]! >= period) expired++
    if (expired > 0) state.restarts.splice(0, expired)
    state.restarts.push(now)
    if (state.restarts.length === 1) state.backoff = undefined
    const allowed = state.restarts.length <= state.spec.intensity
    if (allowed) countRestart(ctx.self)
    return allowed
  })

/** The next delay of the backoff schedule, 0 without one. */
const nextDelay = (state: State, ctx: Ctx): Effect.Effect<number> => {
  const schedule = state.spec.backoff
  if (schedule === undefined) return Effect.succeed(0)
  return Effect.gen(function*() {
    const now = yield* ctx.currentTimeMillis
    const [next, , decision] = yield* schedule.step(now, undefined, state.backoff ?? schedule.initial)
    state.backoff = next
    if (ScheduleDecision.isDone(decision)) return 0
    return Math.max(0, ScheduleIntervals.start(decision.intervals) - now)
  }) as Effect.Effect<number>
}

/** Restarts children in order; a child that fails to start counts as another restart. */
const restartGroup = (state: State, ctx: Ctx, group: ReadonlyArray<ChildState>): Effect.Effect<State> =>
  Effect.gen(function*() {
    for (const child of group) {
      if (child.pid !== undefined || !state.children.includes(child)) continue
      for (;;) {
        const started = yield* Effect.either(startChild(ctx, child, true))
        if (started._tag === "Right") {
          child.restarts = (child.restarts ?? 0) + 1
          break
        }
        yield* report(ctx, LogLevel.Error, () => [`could not restart child ${child.id}: ${started.left.reason}`, {
          errorContext: "start_error",
          child: child.id,
          reason: started.left.reason
        }])
        if (!(yield* recordRestart(state, ctx))) return yield* giveUp(state, ctx, `restarting ${child.id} kept failing`)
      }
    }
    return state
  })

/** A child (or something else linked) sent an exit signal. */
export const childExited = (state: State, ctx: Ctx, from: Pid, reason: ExitReason): Effect.Effect<State> =>
  Effect.gen(function*() {
    const key = pidKey(from)
    if (state.stopping.delete(key)) return state
    const index = state.children.findIndex((c) => c.pid !== undefined && pidKey(c.pid) === key)
    if (index < 0) {
      // Neither a child nor the parent (whose exit signal the kernel turns into terminate, as
      // gen_server does): OTP's supervisor ignores it, so that no other process can take the
      // subtree down with exit/2 (only `kill`, which cannot be trapped, still can).
      yield* report(ctx, LogLevel.Warning, () => [
        `ignored an exit signal from ${from.toString()}, which is neither its child nor its parent (${Reason.format(reason)})`,
        { errorContext: "unexpected_exit", from: from.toString(), reason: Reason.format(reason) }
      ])
      return state
    }
    const child = state.children[index]!
    child.pid = undefined
    const restart = child.spec.restart ?? "permanent"
    const restarting = restart === "permanent" || (restart === "transient" && !Reason.isClean(reason))
    if (restarting || !Reason.isClean(reason)) {
      yield* report(ctx, Reason.isClean(reason) ? LogLevel.Info : LogLevel.Error, () => [
        `child ${child.id} (${from.toString()}) exited: ${Reason.format(reason)}; ${
          restarting ? "restarting it" : `not restarted (${restart})`
        }`,
        { errorContext: "child_terminated", child: child.id, pid: from.toString(), reason: Reason.format(reason), restart }
      ])
    }
    if (!restarting) {
      if (restart === "temporary" || state.spec.strategy === "simple_one_for_one") {
        state.children = state.children.filter((c) => c !== child)
      }
      if (child.spec.significant === true && state.spec.autoShutdown !== "never") {
        const anyLeft = state.children.some((c) => c.spec.significant === true && c.pid !== undefined)
        if (state.spec.autoShutdown === "any_significant" || !anyLeft) {
          yield* stopAll(state, ctx)
          yield* ctx.stop(Reason.shutdown)
        }
      }
      return state
    }
    if (!(yield* recordRestart(state, ctx))) {
      return yield* giveUp(state, ctx, `more than ${state.spec.intensity} restarts in ${Duration.format(state.spec.period)}`)
    }
    let group: Array<ChildState>
    switch (state.spec.strategy) {
      case "one_for_all":
        group = yield* stopOthers(state, ctx, state.children.filter((c) => c !== child))
        break
      case "rest_for_one":
        group = yield* stopOthers(state, ctx, state.children.slice(index + 1))
        break
      default:
        group = []
    }
    group = state.children.filter((c) => c === child || group.includes(c))
    const delay = yield* nextDelay(state, ctx)
    if (delay > 0) {
      yield* ctx.sendAfter(ctx.self, new DelayedRestart({ ids: group.map((c) => c.id) }), Duration.millis(delay))
      return state
    }
    return yield* restartGroup(state, ctx, group)
  })

/** Stops the given children (newest first) for a group restart; temporary ones are dropped for good. */
const stopOthers = (state: State, ctx: Ctx, others: ReadonlyArray<ChildState>): Effect.Effect<Array<ChildState>> =>
  Effect.gen(function*() {
    for (const other of others.slice().reverse()) yield* stopChild(state, ctx, other)
    const temporary = new Set(others.filter((c) => (c.spec.restart ?? "permanent") === "temporary"))
    state.children = state.children.filter((c) => !temporary.has(c))
    return others.filter((c) => !temporary.has(c))
  })

/** A backoff delay is over: restart the group. */
export const restartIds = (state: State, ctx: Ctx, ids: ReadonlyArray<string>): Effect.Effect<State> =>
  restartGroup(state, ctx, state.children.filter((c) => ids.includes(c.id)))

const find = (state: State, child: string | Pid): ChildState | undefined =>
  isPid(child)
    ? state.children.find((c) => c.pid !== undefined && pidKey(c.pid) === pidKey(child))
    : state.children.find((c) => c.id === child)

/** The run-time API: start, terminate, restart, delete, list and count children. */
export const request = (
  state: State,
  ctx: Ctx,
  request: Request
): Effect.Effect<CallResult<State, SuccessOf<Request>>> => {
  switch (request._tag) {
    case "rain/Supervisor/StartChild": {
      let child: ChildState
      if (state.spec.strategy === "simple_one_for_one") {
        const template = state.spec.template!
        const extra = request.spec
        const args = Array.isArray(template.args) && Array.isArray(extra) ? [...template.args, ...extra] : extra ?? template.args
        child = { id: `${template.id}#${state.nextDynamic++}`, spec: template, args, pid: undefined }
      } else {
        const spec = request.spec as ChildSpec
        if (state.children.some((c) => c.id === spec.id)) {
          return Effect.succeed(replyError(new ChildAlreadyPresent({ child: spec.id }), state))
        }
        child = { id: spec.id, spec, args: spec.args, pid: undefined }
      }
      return startChild(ctx, child).pipe(
        Effect.map((pid) => {
          state.children.push(child)
          return reply(pid, state)
        }),
        Effect.catchAll((error) => Effect.succeed(replyError(error, state)))
      )
    }
    case "rain/Supervisor/TerminateChild": {
      const child = find(state, request.child)
      if (child === undefined) return Effect.succeed(replyError(new ChildNotFound({ child: String(request.child) }), state))
      return stopChild(state, ctx, child).pipe(
        Effect.map(() => {
          if (state.spec.strategy === "simple_one_for_one") state.children = state.children.filter((c) => c !== child)
          return reply(undefined, state)
        })
      )
    }
    case "rain/Supervisor/RestartChild": {
      const child = find(state, request.child)
      if (child === undefined) return Effect.succeed(replyError(new ChildNotFound({ child: request.child }), state))
      if (child.pid !== undefined) return Effect.succeed(replyError(new ChildRunning({ child: request.child }), state))
      return startChild(ctx, child).pipe(
        Effect.map((pid) => reply(pid, state)),
        Effect.catchAll((error) => Effect.succeed(replyError(error, state)))
      )
    }
    case "rain/Supervisor/DeleteChild": {
      const child = find(state, request.child)
      if (child === undefined) return Effect.succeed(replyError(new ChildNotFound({ child: request.child }), state))
      if (child.pid !== undefined) return Effect.succeed(replyError(new ChildRunning({ child: request.child }), state))
      state.children = state.children.filter((c) => c !== child)
      return Effect.succeed(reply(undefined, state))
    }
    case "rain/Supervisor/WhichChildren":
      return Effect.succeed(reply(
        state.children.map((c) =>
          new ChildInfo({ id: c.id, pid: c.pid, type: c.spec.type ?? "worker", restart: c.spec.restart ?? "permanent" })
        ),
        state
      ))
    case "rain/Supervisor/CountChildren": {
      const supervisors = state.children.filter((c) => c.spec.type === "supervisor").length
      return Effect.succeed(reply(
        new ChildCounts({
          specs: state.children.length,
          active: state.children.filter((c) => c.pid !== undefined).length,
          supervisors,
          workers: state.children.length - supervisors
        }),
        state
      ))
    }
  }
}
