/**
 * A code upgrade, OTP's release-handler discipline: suspend every process running the old
 * code, migrate each one's state with the new code's `codeChange`, and only if every
 * migration succeeded swap handlers and states (and the child specs of every supervisor)
 * in one synchronous step; then resume them all. On any failure nothing is swapped and
 * every process resumes on its old code and state: no process is ever half-upgraded.
 *
 * Messages sent meanwhile (from this node or others) queue in the suspended mailboxes and
 * are handled afterwards, in order, by the new code.
 *
 * @internal
 */
import type { Fiber } from "effect"
import { Duration, Effect, Exit, FiberId, Option } from "effect"
import { toMillis } from "../../Node/internal/calls.js"
import type { Kernel } from "../../Node/internal/kernel.js"
import type { Proc } from "../../Node/internal/proc.js"
import { EXITING, notAnEffect, SUSPENDED } from "../../Node/internal/proc.js"
import { suspendAll } from "../../Node/internal/suspend.js"
import type { Behaviour } from "../../Process/Behaviour.js"
import type { AsyncTarget } from "../../Process/internal/runLoop.js"
import { isExit, runEffect } from "../../Process/internal/runLoop.js"
import * as Reason from "../../Process/ExitReason.js"
import type { Pid } from "../../Process/Pid.js"
import * as Supervisor from "../../Supervisor/index.js"
import type { ChildSpec, Spec } from "../../Supervisor/Spec.js"
import type { State } from "../../Supervisor/internal/state.js"
import { isSupervisor, specOf } from "../../Supervisor/internal/state.js"
import type { RewriteChildren } from "../../Process/internal/rewriteChildren.js"
import { rewriteChildren } from "../../Process/internal/rewriteChildren.js"
import { InvalidBehaviour, UpgradeFailed, UpgradeFailure } from "../errors.js"
import type { UpgradeReport } from "../types.js"

type AnyBehaviour = Behaviour<any, any, any, any, any, any>

/** One behaviour to replace: the old one (or its name) and the new one. */
export interface Change {
  readonly from: AnyBehaviour | string
  readonly to: AnyBehaviour
}

/** Default bound of the wait for a busy handler and of each `codeChange`. */
export const defaultTimeout = Duration.seconds(5)

/** A behaviour as the upgrade checks it: an object with a name and an init function. */
export const checkBehaviour = (value: unknown, what: string): InvalidBehaviour | undefined => {
  if (value === null || typeof value !== "object") return new InvalidBehaviour({ detail: `${what} is ${value === null ? "null" : typeof value}` })
  const b = value as Partial<AnyBehaviour>
  if (typeof b.name !== "string" || b.name === "") return new InvalidBehaviour({ detail: `${what} has no name` })
  if (typeof b.init !== "function") return new InvalidBehaviour({ detail: `${what} (${b.name}) has no init function` })
  if (b.codeChange !== undefined && typeof b.codeChange !== "function") {
    return new InvalidBehaviour({ detail: `${what} (${b.name}): codeChange is not a function` })
  }
  return undefined
}

const versionOf = (b: AnyBehaviour): string => (b.version === undefined ? "" : ` v${String(b.version)}`)

const matcher = (from: AnyBehaviour | string) => (b: AnyBehaviour): boolean =>
  typeof from === "string" ? b.name === from : b === from

/**
 * Upgrades every local process running one of the `changes`' old behaviours, all or
 * nothing. `timeout` bounds the wait for a busy handler and each `codeChange`.
 */
export const upgrade = (
  kernel: Kernel,
  changes: ReadonlyArray<Change>,
  extra: unknown,
  timeout: Duration.DurationInput | undefined
): Effect.Effect<UpgradeReport, UpgradeFailed | InvalidBehaviour> =>
  Effect.suspend((): Effect.Effect<UpgradeReport, UpgradeFailed | InvalidBehaviour> => {
    for (const change of changes) {
      const invalid = checkBehaviour(change.to, "the new behaviour")
      if (invalid !== undefined) return Effect.fail(invalid)
      if (typeof change.from !== "string") {
        const old = checkBehaviour(change.from, "the old behaviour")
        if (old !== undefined) return Effect.fail(old)
      }
    }
    const label = changes.map((c) => (typeof c.from === "string" ? c.from : c.from.name)).join(", ")
    if (timeout !== undefined && Option.isNone(Duration.decodeUnknown(timeout))) {
      const shown = typeof timeout === "string" ? JSON.stringify(timeout) : String(timeout)
      return Effect.fail(
        new UpgradeFailed({
          behaviour: label,
          failures: [
            new UpgradeFailure({ pid: "(options)", reason: `timeout is ${shown}, not a duration such as "5 seconds"` })
          ],
          rolledBack: 0
        })
      )
    }
    const matchers = changes.map((c) => matcher(c.from))
    const targetOf = (b: AnyBehaviour): AnyBehaviour | undefined => {
      for (let i = 0; i < changes.length; i++) if (matchers[i]!(b)) return changes[i]!.to
      return undefined
    }
    const procs: Array<Proc> = []
    for (const proc of kernel.procs.values()) {
      if (proc.status < EXITING && targetOf(proc.behaviour) !== undefined && targetOf(proc.behaviour) !== proc.behaviour) {
        procs.push(proc)
      }
    }
    const versions = changes.map((_, i) => procs.find((p) => matchers[i]!(p.behaviour))?.behaviour)
    const millis = toMillis(timeout ?? defaultTimeout)
    return Effect.flatMap(suspendAll(kernel, procs, millis), (suspension) => {
      const { suspended } = suspension
      const stuck = [
        ...suspension.busy.map((p) =>
          new UpgradeFailure({ pid: p.pid.toString(), reason: `still in a handler after ${millis}ms, not suspended` })
        ),
        ...suspension.self.map((p) =>
          new UpgradeFailure({ pid: p.pid.toString(), reason: "it is the process asking for the upgrade (upgrade it from another)" })
        )
      ]
      if (stuck.length > 0) {
        resumeAll(kernel, suspended)
        return Effect.fail(new UpgradeFailed({ behaviour: label, failures: stuck, rolledBack: 0 }))
      }
      return Effect.flatMap(
        migrateAll(kernel, suspended, targetOf, extra, millis),
        (results) => {
          const failures: Array<UpgradeFailure> = []
          for (let i = 0; i < results.length; i++) {
            const result = results[i]!
            if (result._tag === "Failure") failures.push(new UpgradeFailure({ pid: suspended[i]!.pid.toString(), reason: result.reason }))
          }
          if (failures.length > 0) {
            resumeAll(kernel, suspended)
            return Effect.fail(
              new UpgradeFailed({ behaviour: label, failures, rolledBack: results.length - failures.length })
            )
          }
          // Commit: one synchronous step, so no message is handled by a half-upgraded set.
          const upgraded: Array<Pid> = []
          for (let i = 0; i < suspended.length; i++) {
            const proc = suspended[i]!
            // Killed while it was being migrated: it ended on its old code, with its old state.
            if (proc.status !== SUSPENDED) continue
            proc.behaviour = targetOf(proc.behaviour)!
            proc.state = (results[i] as Migrated).state
            upgraded.push(proc.pid)
          }
          const supervisors = rewriteSupervisors(kernel, targetOf)
          resumeAll(kernel, suspended)
          // Started on the old code while the upgrade waited for a busy handler (a supervisor's
          // restart, say): not part of this upgrade, so say so rather than leave them unnoticed.
          let late = 0
          for (const proc of kernel.procs.values()) {
            if (proc.status < EXITING && targetOf(proc.behaviour) !== undefined && targetOf(proc.behaviour) !== proc.behaviour) late++
          }
          const behaviours = changes.map((c, i) => {
            // By name: the version the processes ran (the first one's).
            const ran = typeof c.from === "string" ? versions[i] : c.from
            const old = ran === undefined ? String(c.from) : `${ran.name}${versionOf(ran)}`
            return `${old} -> ${c.to.name}${versionOf(c.to)}`
          })
          const logged = Effect.logInfo(
            `code upgrade: ${behaviours.join(", ")}: ${upgraded.length} process(es) upgraded, ${supervisors} supervisor(s) updated`
          ).pipe(
            Effect.zipRight(
              late === 0 ? Effect.void : Effect.logWarning(
                `code upgrade: ${late} process(es) of ${label} started on the old code while the upgrade ran; upgrade again to move them`
              )
            )
          )
          return logged.pipe(
            Effect.annotateLogs({ node: kernel.name }),
            Effect.as<UpgradeReport>({ behaviours, upgraded, supervisors })
          )
        }
      )
    })
  })

const resumeAll = (kernel: Kernel, procs: ReadonlyArray<Proc>): void => {
  for (const proc of procs) kernel.resume(proc)
}

interface Migrated {
  readonly _tag: "Success"
  readonly state: unknown
}
interface NotMigrated {
  readonly _tag: "Failure"
  readonly reason: string
}

/**
 * Runs the new code's `codeChange` on each suspended process's state, on the process's
 * runtime: synchronously when it is synchronous (the handlers' own run loop), on a fiber
 * otherwise; those not finished within `millis` are interrupted and count as failed.
 * One async wait for all, so that upgrading many processes costs no fiber per process.
 */
const migrateAll = (
  kernel: Kernel,
  procs: ReadonlyArray<Proc>,
  targetOf: (b: AnyBehaviour) => AnyBehaviour | undefined,
  extra: unknown,
  millis: number
): Effect.Effect<Array<Migrated | NotMigrated>> =>
  Effect.async<Array<Migrated | NotMigrated>>((resume) => {
    const results = new Array<Migrated | NotMigrated>(procs.length)
    const fibers = new Map<number, Fiber.RuntimeFiber<unknown, unknown>>()
    let finished = false
    let cancelTimer: (() => void) | undefined
    const settle = (i: number, exit: Exit.Exit<unknown, unknown>) => {
      results[i] = exit._tag === "Success"
        ? { _tag: "Success", state: exit.value }
        : { _tag: "Failure", reason: `codeChange failed: ${Reason.format(Reason.fromCause(exit.cause))}` }
    }
    const finish = () => {
      if (finished) return
      finished = true
      cancelTimer?.()
      for (const [i, fiber] of fibers) {
        fiber.unsafeInterruptAsFork(FiberId.none)
        results[i] = { _tag: "Failure", reason: `codeChange did not finish within ${millis}ms` }
      }
      fibers.clear()
      resume(Effect.succeed(results))
    }
    for (let i = 0; i < procs.length; i++) {
      const proc = procs[i]!
      const to = targetOf(proc.behaviour)!
      const change = to.codeChange
      if (change === undefined) {
        results[i] = { _tag: "Success", state: proc.state }
        continue
      }
      let effect: Effect.Effect<unknown, unknown, unknown>
      try {
        effect = change(proc.behaviour.version, proc.state, extra)
      } catch (defect) {
        effect = Exit.die(defect)
      }
      if (!Effect.isEffect(effect)) effect = notAnEffect(to.name, "codeChange", effect)
      const index = i
      const target: AsyncTarget = {
        resume: (exit) => {
          if (finished || !fibers.delete(index)) return
          settle(index, exit)
          if (fibers.size === 0) finish()
        },
        wrap: (e) => proc.wrap(e)
      }
      const result = runEffect(effect, proc.runtime, target)
      if (isExit(result)) settle(i, result)
      else fibers.set(i, result as Fiber.RuntimeFiber<unknown, unknown>)
    }
    if (fibers.size === 0) return finish()
    if (millis !== Infinity) cancelTimer = kernel.startTimer(millis, finish)
    return Effect.sync(() => {
      finished = true
      cancelTimer?.()
      for (const fiber of fibers.values()) fiber.unsafeInterruptAsFork(FiberId.none)
    })
  })

// ---------------------------------------------------------------------------
// Supervisors learn the new code

/**
 * Rewrites the child specs of every supervisor on the node (and of the supervisor
 * behaviours nested in them) that name an old behaviour, so that a restart after the
 * upgrade starts the new code; and the state of every process whose behaviour has a
 * `rewriteChildren` hook (a pool's worker behaviour). Returns how many changed.
 */
export const rewriteSupervisors = (
  kernel: Kernel,
  targetOf: (b: AnyBehaviour) => AnyBehaviour | undefined
): number => {
  const rewriter = new SpecRewriter(targetOf)
  let changed = 0
  for (const proc of kernel.procs.values()) {
    if (proc.status >= EXITING) continue
    const hook = (proc.behaviour as { readonly [rewriteChildren]?: RewriteChildren })[rewriteChildren]
    if (hook !== undefined) {
      // not a supervisor, but it starts processes (a pool's workers): its state learns the new code
      if (proc.state !== undefined && proc.state !== null && hook(proc.state, targetOf)) changed++
      continue
    }
    if (!isSupervisor(proc.behaviour)) continue
    const state = proc.state as State | undefined
    // Still in init: its state is not there yet (it starts from the rewritten spec if restarted).
    if (state === undefined || state === null || !Array.isArray(state.children)) continue
    let touched = false
    const spec = rewriter.spec(state.spec)
    if (spec !== state.spec) {
      state.spec = spec
      touched = true
    }
    for (const child of state.children) {
      const next = rewriter.child(child.spec)
      if (next !== child.spec) {
        child.spec = next
        touched = true
      }
    }
    const own = rewriter.behaviour(proc.behaviour)
    if (own !== proc.behaviour) proc.behaviour = own
    if (touched) changed++
  }
  return changed
}

/** Rewrites specs, memoized, so that a supervisor behaviour maps to one new behaviour everywhere. */
export class SpecRewriter {
  private readonly specs = new Map<Spec, Spec>()
  private readonly behaviours = new Map<AnyBehaviour, AnyBehaviour>()
  constructor(private readonly targetOf: (b: AnyBehaviour) => AnyBehaviour | undefined) {}

  behaviour(b: AnyBehaviour): AnyBehaviour {
    const known = this.behaviours.get(b)
    if (known !== undefined) return known
    let next = b
    const target = this.targetOf(b)
    if (target !== undefined) next = target
    else {
      const spec = specOf.get(b)
      if (spec !== undefined) {
        const rewritten = this.spec(spec)
        if (rewritten !== spec) next = Supervisor.behaviour(rewritten) as AnyBehaviour
      }
    }
    this.behaviours.set(b, next)
    return next
  }

  child(child: ChildSpec): ChildSpec {
    const behaviour = this.behaviour(child.behaviour as AnyBehaviour)
    return behaviour === (child.behaviour as AnyBehaviour) ? child : { ...child, behaviour }
  }

  spec(spec: Spec): Spec {
    const known = this.specs.get(spec)
    if (known !== undefined) return known
    const children = spec.children.map((c) => this.child(c))
    const template = spec.template === undefined ? undefined : this.child(spec.template)
    const same = template === spec.template && children.every((c, i) => c === spec.children[i])
    const next = same ? spec : copySpec(spec, { children, template })
    this.specs.set(spec, next)
    return next
  }
}

/** A copy of a spec with other fields, keeping its prototype (`pipe`). */
export const copySpec = (spec: Spec, fields: Partial<Spec>): Spec =>
  Object.assign(Object.create(Object.getPrototypeOf(spec)), spec, fields)
