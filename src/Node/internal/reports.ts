/**
 * Crash reports, supervisor reports and unhandled-message warnings, as OTP's logger
 * writes them: through Effect's `Logger` (the node's runtime, so the node's level and
 * format apply), with the process's pid, name, node and behaviour as annotations.
 *
 * Under a crash storm the reports are rate-limited per node (at most `perSecond` in each
 * second of Clock time, then one line "suppressed K reports" when the second is over), so
 * that logging never becomes the overload. `log.crashReports: false` silences them.
 *
 * Not a hot path: reports are written when something went wrong.
 *
 * @internal
 */
import { inspect } from "node:util"
import { Effect, LogLevel, Runtime } from "effect"
import * as Reason from "../../Process/ExitReason.js"
import type { ExitReason } from "../../Process/ExitReason.js"
import type { Pid } from "../../Process/Pid.js"
import type { Kernel } from "./kernel.js"
import { kernelOfPid } from "./kernel.js"
import type { Proc } from "./proc.js"

/** Options of the reports (`NodeOptions.log`). */
export interface ReportOptions {
  readonly enabled: boolean
  readonly perSecond: number
}

/** A value as a report shows it: one line, bounded. */
export const render = (value: unknown): string => {
  const text = inspect(value, { depth: 3, breakLength: Infinity, compact: true, maxArrayLength: 10, maxStringLength: 200 })
  return text.length > 500 ? `${text.slice(0, 500)}...` : text
}

/** The type of a message, for "unhandled message" warnings: its `_tag`, its class, or its JS type. */
export const typeName = (message: unknown): string => {
  if (message === null) return "null"
  if (typeof message !== "object") return typeof message
  const tag = (message as { readonly _tag?: unknown })._tag
  if (typeof tag === "string") return tag
  return (message as object).constructor?.name ?? "Object"
}

/** The reports of one node. */
export class Reports {
  private windowStart = -Infinity
  private count = 0
  private suppressed = 0
  private cancelFlush: (() => void) | undefined = undefined
  private readonly unhandled = new Set<string>()

  constructor(
    private readonly kernel: Kernel,
    readonly options: ReportOptions
  ) {}

  /** Writes a log line now, through the node's logger. */
  log(level: LogLevel.LogLevel, message: string, annotations: Record<string, string>): void {
    Runtime.runSync(this.kernel.options.runtime)(
      Effect.logWithLevel(level, message).pipe(Effect.annotateLogs(annotations))
    )
  }

  /**
   * Whether a report may be written now (rate limit and switch), counting it as written or
   * suppressed. Callers check it before building the report's text, so a crash storm does
   * not pay for formatting what is suppressed.
   */
  admit(): boolean {
    if (!this.options.enabled) return false
    const now = this.kernel.options.clock.unsafeCurrentTimeMillis()
    if (now - this.windowStart >= 1000) {
      this.flush()
      this.windowStart = now
      this.count = 0
    }
    if (this.count >= this.options.perSecond) {
      this.suppressed++
      // A stopped node arms no timer (it would outlive the node); `close` wrote what was pending.
      if (this.cancelFlush === undefined && !this.kernel.stopped) {
        this.cancelFlush = this.kernel.startTimer(Math.max(0, this.windowStart + 1000 - now), () => {
          this.cancelFlush = undefined
          this.flush()
        })
      }
      return false
    }
    this.count++
    return true
  }

  /** Writes the "suppressed" line of the last window, if any report was suppressed. */
  private flush(): void {
    if (this.cancelFlush !== undefined) {
      this.cancelFlush()
      this.cancelFlush = undefined
    }
    if (this.suppressed === 0) return
    const k = this.suppressed
    this.suppressed = 0
    this.log(
      LogLevel.Warning,
      `suppressed ${k} reports (more than ${this.options.perSecond} per second; log.reportsPerSecond)`,
      { node: this.kernel.name, suppressed: String(k) }
    )
  }

  /** The node stops: write what is pending, arm nothing more. */
  close(): void {
    this.flush()
  }

  /**
   * A process crashed (a handler failed or died, `init` failed, or it stopped with an
   * abnormal reason): the crash report names it and says what it was handling.
   */
  crash(proc: Proc, reason: ExitReason, handling: string, message: unknown): void {
    if (!this.admit()) return
    const annotations = proc.annotations()
    const why = Reason.format(reason)
    const last = render(message)
    annotations["reason"] = why
    annotations["lastMessage"] = last
    annotations["report"] = "crash"
    this.log(
      LogLevel.Error,
      `crash report: ${proc.label()} (${proc.behaviour.name}) crashed in ${handling}\n  reason: ${why}\n  last message: ${last}`,
      annotations
    )
  }

  /** A message arrived that the behaviour has no handler for: logged once per behaviour and message type. */
  unhandledMessage(proc: Proc, message: unknown, handler: string): void {
    const type = typeName(message)
    const key = `${proc.behaviour.name}\u0000${type}`
    if (this.unhandled.has(key)) return
    this.unhandled.add(key)
    const annotations = proc.annotations()
    annotations["messageType"] = type
    this.log(
      LogLevel.Warning,
      `${proc.label()} (${proc.behaviour.name}) has no ${handler}: dropped a ${type} message (${render(message)}); ` +
        `add ${handler} to the behaviour. Logged once per behaviour and message type.`,
      annotations
    )
  }
}

/** The reports of the node a pid lives on (for supervisors, which hold only their context). */
export const reportsOf = (pid: Pid): Reports | undefined => kernelOfPid(pid)?.reports

/**
 * Counts a supervisor's restart in its node's stats (`rain/Telemetry`'s restarts by
 * supervisor), under its registered name, or its behaviour's name when it has none (a pid
 * would give every incarnation of a restarted supervisor its own series).
 */
export const countRestart = (supervisor: Pid): void => {
  const kernel = kernelOfPid(supervisor)
  if (kernel === undefined) return
  const proc = kernel.lookup(supervisor)
  kernel.stats.restarted(proc === undefined ? supervisor.toString() : (proc.name ?? proc.behaviour.name))
}
