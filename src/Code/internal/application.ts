/**
 * `node.upgradeApplication(newSpec)`: the release handler's work for one application.
 * The behaviours that changed anywhere in its tree (children matched by id, level by
 * level) are upgraded together (all or nothing, see `upgrade.ts`); then each running
 * supervisor of the tree stops the children the new spec removes, starts those it adds,
 * and keeps the new spec (restart types, shutdowns, order); the application keeps the
 * new spec for its next start.
 *
 * @internal
 */
import type { Duration } from "effect"
import { Effect } from "effect"
import type * as Application from "../../Application/index.js"
import { call } from "../../Node/internal/calls.js"
import type { Kernel } from "../../Node/internal/kernel.js"
import { EXITING } from "../../Node/internal/proc.js"
import type { Behaviour } from "../../Process/Behaviour.js"
import type { Pid } from "../../Process/Pid.js"
import * as Supervisor from "../../Supervisor/index.js"
import type { State } from "../../Supervisor/internal/state.js"
import { specOf } from "../../Supervisor/internal/state.js"
import type { ChildSpec, Spec } from "../../Supervisor/Spec.js"
import { ApplicationNotRunning } from "../errors.js"
import type { InvalidBehaviour, UpgradeFailed } from "../errors.js"
import type { ApplicationUpgradeReport } from "../types.js"
import type { Change } from "./upgrade.js"
import { checkBehaviour, upgrade } from "./upgrade.js"

type AnyBehaviour = Behaviour<any, any, any, any, any, any>

/** The Application module's table on a node (its `kernel.extensions` entry), as far as an upgrade needs it. */
interface AppTable {
  readonly apps: Map<string, { spec: Application.Spec; state: string; root: Pid | undefined }>
}

/** An application's root as a supervisor spec (a bare child list is a one_for_one supervisor, as `Application.start`). */
const rootSpec = (root: Application.Spec["root"]): Spec =>
  Array.isArray(root)
    ? (root as ReadonlyArray<ChildSpec>).reduce((s, c) => Supervisor.child(c)(s), Supervisor.oneForOne())
    : (root as Spec)

/** The behaviour changes between two versions of a supervision tree, children matched by id. */
const diff = (old: Spec, next: Spec, changes: Array<Change>, seen: Set<AnyBehaviour>): void => {
  const pair = (from: AnyBehaviour, to: AnyBehaviour) => {
    if (from === to) return
    const oldSub = specOf.get(from)
    const newSub = specOf.get(to)
    if (oldSub !== undefined && newSub !== undefined) return diff(oldSub, newSub, changes, seen)
    if (seen.has(from)) return
    seen.add(from)
    changes.push({ from, to })
  }
  if (old.template !== undefined && next.template !== undefined) {
    pair(old.template.behaviour as AnyBehaviour, next.template.behaviour as AnyBehaviour)
  }
  for (const child of next.children) {
    const before = old.children.find((c) => c.id === child.id)
    if (before !== undefined) pair(before.behaviour as AnyBehaviour, child.behaviour as AnyBehaviour)
  }
}

export const upgradeApplication = (
  kernel: Kernel,
  spec: Application.Spec,
  extra: unknown,
  timeout: Duration.DurationInput | undefined
): Effect.Effect<ApplicationUpgradeReport, UpgradeFailed | InvalidBehaviour | ApplicationNotRunning> =>
  Effect.suspend((): Effect.Effect<ApplicationUpgradeReport, UpgradeFailed | InvalidBehaviour | ApplicationNotRunning> => {
    const name = typeof spec?.name === "string" ? spec.name : String(spec?.name)
    const table = kernel.extensions.get("rain/Application") as AppTable | undefined
    const entry = table?.apps.get(name)
    if (entry === undefined || entry.state !== "running" || entry.root === undefined) {
      return Effect.fail(new ApplicationNotRunning({ name }))
    }
    const oldRoot = rootSpec(entry.spec.root)
    const newRoot = rootSpec(spec.root)
    for (const child of [...newRoot.children, ...(newRoot.template === undefined ? [] : [newRoot.template])]) {
      const invalid = checkBehaviour(child.behaviour, `child ${child.id}'s behaviour`)
      if (invalid !== undefined) return Effect.fail(invalid)
    }
    const changes: Array<Change> = []
    diff(oldRoot, newRoot, changes, new Set())
    const root = entry.root
    const started: Array<string> = []
    const stopped: Array<string> = []
    const upgraded = changes.length === 0
      ? Effect.succeed({ behaviours: [], upgraded: [], supervisors: 0 })
      : upgrade(kernel, changes, extra, timeout)
    return upgraded.pipe(
      Effect.tap(() => reshape(kernel, root, newRoot, "", started, stopped)),
      Effect.tap(() => Effect.sync(() => void (entry.spec = spec))),
      Effect.map((report): ApplicationUpgradeReport => ({ ...report, application: name, started, stopped })),
      Effect.tap((report) =>
        Effect.logInfo(
          `application ${name} upgraded to ${spec.version}: ${report.upgraded.length} process(es) on new code, ` +
            `started [${started.join(", ")}], stopped [${stopped.join(", ")}]`
        ).pipe(Effect.annotateLogs({ node: kernel.name, application: name }))
      )
    )
  })

/**
 * Brings a running supervisor (and the supervisors under it) to `spec`: stops the children
 * it no longer has (newest first), starts the new ones (in spec order), and keeps the new
 * spec. The starts and stops go through the supervisor's own calls, so they are ordered
 * with whatever it is doing.
 */
const reshape = (
  kernel: Kernel,
  pid: Pid,
  spec: Spec,
  path: string,
  started: Array<string>,
  stopped: Array<string>
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const proc = kernel.lookup(pid)
    if (proc === undefined || proc.status >= EXITING) return Effect.void
    const state = proc.state as State
    const caller: Supervisor.Caller = { call: (to, request, t) => call(kernel, undefined, to, request, t) as any }
    const here = path === "" ? "" : `${path}/`
    const dynamic = spec.strategy === "simple_one_for_one"
    const removed = dynamic ? [] : state.children.filter((c) => !spec.children.some((s) => s.id === c.id)).reverse()
    const added = dynamic ? [] : spec.children.filter((s) => !state.children.some((c) => c.id === s.id))
    return Effect.gen(function*() {
      for (const child of removed) {
        yield* Effect.ignore(Supervisor.terminateChild(caller, pid, child.id))
        yield* Effect.ignore(Supervisor.deleteChild(caller, pid, child.id))
        stopped.push(`${here}${child.id}`)
      }
      for (const child of added) {
        const result = yield* Effect.either(Supervisor.startChild(caller, pid, child))
        if (result._tag === "Right") started.push(`${here}${child.id}`)
        else {
          yield* Effect.logWarning(`upgrade: could not start ${here}${child.id}: ${result.left.message}`)
        }
      }
      // The new spec, children in its order (dynamic ones, not in it, keep theirs after).
      const order = new Map(spec.children.map((c, i) => [c.id, i]))
      state.children = state.children.slice().sort((a, b) =>
        (order.get(a.id) ?? Infinity) - (order.get(b.id) ?? Infinity)
      )
      const subs: Array<[Pid, Spec, string, AnyBehaviour]> = []
      for (const child of state.children) {
        const next = spec.children.find((c) => c.id === child.id) ?? (dynamic ? spec.template : undefined)
        if (next === undefined) continue
        child.spec = next
        const sub = specOf.get(next.behaviour)
        if (sub !== undefined && child.pid !== undefined) subs.push([child.pid, sub, `${here}${child.id}`, next.behaviour as AnyBehaviour])
      }
      state.spec = spec
      for (const [subPid, sub, subPath, behaviour] of subs) {
        // The running supervisor runs the behaviour its parent's spec names (so later upgrades find it).
        const subProc = kernel.lookup(subPid)
        if (subProc !== undefined) subProc.behaviour = behaviour
        yield* reshape(kernel, subPid, sub, subPath, started, stopped)
      }
    })
  })
