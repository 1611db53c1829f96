/**
 * Tagged errors of code loading and upgrades.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"

/**
 * One process an upgrade could not migrate, and why.
 *
 * @since 0.2.0
 * @category errors
 */
export class UpgradeFailure extends Schema.Class<UpgradeFailure>("rain/Code/UpgradeFailure")({
  pid: Schema.String,
  reason: Schema.String
}) {}

/**
 * An upgrade did not happen: some processes could not be suspended (still in a handler
 * after the timeout, or the caller itself) or their `codeChange` failed or timed out. It is
 * all or nothing, as OTP's release handler: every process of the behaviour, including
 * those whose migration succeeded, keeps its old code and state, and the supervisors keep
 * their old child specs.
 *
 * @since 0.2.0
 * @category errors
 */
export class UpgradeFailed extends Schema.TaggedError<UpgradeFailed>("rain/Code/UpgradeFailed")("UpgradeFailed", {
  behaviour: Schema.String,
  failures: Schema.Array(UpgradeFailure),
  /** Processes whose migration succeeded but were left on the old code, as the upgrade is all or nothing. */
  rolledBack: Schema.Number
}) {
  override get message(): string {
    const shown = this.failures.slice(0, 5).map((f) => `${f.pid}: ${f.reason}`).join("; ")
    const more = this.failures.length > 5 ? ` (and ${this.failures.length - 5} more)` : ""
    return `Upgrade of ${this.behaviour} failed for ${this.failures.length} process(es): ${shown}${more}. ` +
      `No process was upgraded (${this.rolledBack} successful migration(s) rolled back); all keep the old code and state. ` +
      `Fix codeChange, or raise the upgrade's timeout, and upgrade again.`
  }
}

/**
 * What was given as the new code is not a behaviour (an object with a `name` and an
 * `init` function), or a module has no such export.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidBehaviour extends Schema.TaggedError<InvalidBehaviour>("rain/Code/InvalidBehaviour")("InvalidBehaviour", {
  detail: Schema.String
}) {
  override get message(): string {
    return `Not a behaviour: ${this.detail}. Pass an object made with Process.make (a name and an init function).`
  }
}

/**
 * `upgradeApplication` was given an application that is not running on the node.
 *
 * @since 0.2.0
 * @category errors
 */
export class ApplicationNotRunning extends Schema.TaggedError<ApplicationNotRunning>("rain/Code/ApplicationNotRunning")(
  "ApplicationNotRunning",
  { name: Schema.String }
) {
  override get message(): string {
    return `Application ${this.name} is not running on this node, so there is nothing to upgrade. ` +
      `Start it (Application.start) with the new spec instead.`
  }
}

/**
 * A module could not be loaded: the file is missing, does not parse, or throws while it
 * is evaluated.
 *
 * @since 0.2.0
 * @category errors
 */
export class LoadFailed extends Schema.TaggedError<LoadFailed>("rain/Code/LoadFailed")("LoadFailed", {
  path: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `Could not load ${this.path}: ${this.detail}. Check that the file exists and is a valid ES module ` +
      `(a .js/.mjs file, or .ts when running under tsx).`
  }
}
