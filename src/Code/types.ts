/**
 * What code upgrades take and report.
 *
 * @since 0.2.0
 */
import type { Duration } from "effect"
import type { Pid } from "../Process/Pid.js"

/**
 * Options of `node.upgrade` and `node.upgradeApplication`.
 *
 * @since 0.2.0
 * @category models
 */
export interface UpgradeOptions {
  /**
   * How long to wait for a process busy in a handler to return (so that it can be
   * suspended), and for each `codeChange`. Default 5 seconds (`sys:suspend`'s default).
   */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * What an upgrade did.
 *
 * @since 0.2.0
 * @category models
 */
export interface UpgradeReport {
  /** Each behaviour upgraded, as `Name v1 -> Name v2`. */
  readonly behaviours: ReadonlyArray<string>
  /** The processes now running the new code (those that ended meanwhile are not in it). */
  readonly upgraded: ReadonlyArray<Pid>
  /** How many supervisors (and pools) now start the new code when they restart or add a child. */
  readonly supervisors: number
}

/**
 * What `node.upgradeApplication` did: the upgrade of the changed behaviours, and the
 * children started and stopped because the new spec adds or removes them (as
 * `supervisorPath/childId`).
 *
 * @since 0.2.0
 * @category models
 */
export interface ApplicationUpgradeReport extends UpgradeReport {
  readonly application: string
  readonly started: ReadonlyArray<string>
  readonly stopped: ReadonlyArray<string>
}
