/**
 * Supervisor and child specs.
 *
 * @since 0.1.0
 */
import type { Duration, Pipeable, Schedule } from "effect"
import type { Any } from "../Process/Behaviour.js"

/** @since 0.1.0 */
export type Strategy = "one_for_one" | "one_for_all" | "rest_for_one" | "simple_one_for_one"

/**
 * When a child is restarted: always (`permanent`), only after an abnormal exit
 * (`transient`: not `normal` nor `shutdown`), or never (`temporary`).
 *
 * @since 0.1.0
 */
export type Restart = "permanent" | "transient" | "temporary"

/**
 * How a child is stopped: killed at once, asked with `shutdown` and killed after a
 * number of milliseconds, or asked and waited for (the default for supervisors).
 *
 * @since 0.1.0
 */
export type Shutdown = "brutal_kill" | number | "infinity"

/**
 * A child: what to start and how to treat it.
 *
 * @since 0.1.0
 */
export interface ChildSpec<A = any> {
  /** Unique among the supervisor's children. */
  readonly id: string
  readonly behaviour: Any<A>
  readonly args: A
  /** Default `permanent`. */
  readonly restart?: Restart | undefined
  /** Default 5000 ms for a worker, `infinity` for a supervisor. */
  readonly shutdown?: Shutdown | undefined
  /** Default `worker`. */
  readonly type?: "worker" | "supervisor" | undefined
  /** With `autoShutdown`, the exit of a significant child may end the supervisor (OTP's significant). */
  readonly significant?: boolean | undefined
  /** Register the child under this name. */
  readonly name?: string | undefined
}

/**
 * A supervisor: strategy, restart intensity (`intensity` restarts within `period`,
 * OTP's default 1 in 5 s), an optional backoff `Schedule` between restarts (something
 * OTP cannot do), auto-shutdown on significant children, and the children.
 *
 * @since 0.1.0
 */
export interface Spec extends Pipeable.Pipeable {
  readonly strategy: Strategy
  readonly intensity: number
  readonly period: Duration.Duration
  readonly backoff: Schedule.Schedule<unknown, unknown> | undefined
  readonly autoShutdown: "never" | "any_significant" | "all_significant"
  readonly children: ReadonlyArray<ChildSpec>
  /** For `simple_one_for_one`: the spec every child is started from (its args are prepended to the start args). */
  readonly template: ChildSpec | undefined
}

/**
 * Options of a supervisor.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly intensity?: number | undefined
  readonly period?: Duration.DurationInput | undefined
  /** Delay between restarts, e.g. `Schedule.exponential("10 millis").pipe(Schedule.jittered)`. */
  readonly backoff?: Schedule.Schedule<unknown, unknown> | undefined
  readonly autoShutdown?: "never" | "any_significant" | "all_significant" | undefined
}

