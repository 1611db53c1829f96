/**
 * The tagged errors of the cron scheduler.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"

/**
 * A cron expression (or its time zone) could not be parsed, or it never matches a date.
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidCronExpression extends Schema.TaggedError<InvalidCronExpression>()("InvalidCronExpression", {
  expression: Schema.String,
  timeZone: Schema.optional(Schema.String),
  reason: Schema.String
}) {
  override get message(): string {
    const zone = this.timeZone === undefined ? "" : ` (time zone "${this.timeZone}")`
    return `Cron expression "${this.expression}"${zone}: ${this.reason}. Use 5 fields "minute hour day month weekday" or 6 with seconds first, e.g. "0 */15 * * * *", and an IANA time zone such as "Europe/Paris".`
  }
}

/**
 * A job definition is unusable for another reason than its expression (an empty name).
 *
 * @since 0.2.0
 * @category errors
 */
export class InvalidJob extends Schema.TaggedError<InvalidJob>()("InvalidJob", {
  name: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Cron job "${this.name}": ${this.reason}.`
  }
}

/**
 * `add` was given a job whose name the scheduler already has.
 *
 * @since 0.2.0
 * @category errors
 */
export class JobExists extends Schema.TaggedError<JobExists>()("JobExists", {
  name: Schema.String
}) {
  override get message(): string {
    return `The scheduler already has a job named "${this.name}". Remove it first, or pick another name.`
  }
}

/**
 * No job of that name is scheduled.
 *
 * @since 0.2.0
 * @category errors
 */
export class JobNotFound extends Schema.TaggedError<JobNotFound>()("JobNotFound", {
  name: Schema.String,
  known: Schema.Array(Schema.String)
}) {
  override get message(): string {
    const known = this.known.length === 0 ? "it has no jobs" : `its jobs: ${this.known.join(", ")}`
    return `The scheduler has no job named "${this.name}" (${known}).`
  }
}
