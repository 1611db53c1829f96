/**
 * A supervisor's state: its spec, its children in start order, and the restart history
 * that the intensity is measured on.
 *
 * @internal
 */
import type { Pid } from "../../Process/Pid.js"
import type { ChildSpec, Spec } from "../Spec.js"

export interface ChildState {
  readonly id: string
  /** Replaced by a code upgrade (`Code/internal/upgrade.ts`), so that a restart uses the new code. */
  spec: ChildSpec
  readonly args: unknown
  pid: Pid | undefined
  /** Times this child was restarted (for the control plane's tree; undefined: never). */
  restarts?: number
}

export interface State {
  /** Replaced by a code upgrade or `upgradeApplication`. */
  spec: Spec
  children: Array<ChildState>
  /** Clock times of the restarts inside the current period. */
  restarts: Array<number>
  /** Children this supervisor stopped itself; their Exit message is expected and ignored. */
  readonly stopping: Set<string>
  /** Where the backoff schedule is. */
  backoff: unknown
  /** Counter for ids of simple_one_for_one children. */
  nextDynamic: number
}

export const makeState = (spec: Spec): State => ({
  spec,
  children: spec.children.map((child) => ({ id: child.id, spec: child, args: child.args, pid: undefined })),
  restarts: [],
  stopping: new Set(),
  backoff: undefined,
  nextDynamic: 1
})

export const pidKey = (pid: Pid): string => `${pid.node}/${pid.id}/${pid.creation}`

/**
 * The spec of each supervisor behaviour (`Supervisor.behaviour(spec)`), so that a code
 * upgrade can find the children of a supervisor that is a child itself.
 */
export const specOf = new WeakMap<object, Spec>()

/** Whether a running process's state is a supervisor's (it runs a `Supervisor.behaviour`). */
export const isSupervisor = (behaviour: object): boolean => specOf.has(behaviour)
