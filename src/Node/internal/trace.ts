/**
 * A process's message trace: the last N messages it handled, kept by the kernel while the
 * trace is on (`Process.trace`, the control plane's `Trace`). Off by default: a `Proc`
 * holds `trace: null` and the hot path pays one field check per message for it.
 *
 * A message is rendered (`reports.render`: one line, bounded) when it is handled, not when
 * the trace is read, so that a message mutated later, or a huge one, costs what was shown.
 *
 * @internal
 */
import type { Proc } from "./proc.js"
import { render } from "./reports.js"

/** The handler a traced message went to. */
export type TraceKind = "message" | "call" | "info"

/** One handled message, as the trace keeps it. */
export interface TraceEntry {
  readonly at: number
  readonly kind: TraceKind
  readonly message: string
}

/** The largest trace a process may keep. */
export const MAX_TRACE = 10_000

/** A ring buffer of the last `last` entries. */
export class Trace {
  private readonly ring: Array<TraceEntry | undefined>
  private next = 0
  private size = 0

  constructor(readonly last: number) {
    this.ring = new Array<TraceEntry | undefined>(last)
  }

  record(at: number, kind: TraceKind, message: unknown): void {
    let text: string
    try {
      text = render(message)
    } catch (e) {
      // A message's custom inspect may throw: the trace says so rather than failing the handler.
      text = `<cannot render: ${e instanceof Error ? e.message : String(e)}>`
    }
    this.push({ at, kind, message: text })
  }

  push(entry: TraceEntry): void {
    this.ring[this.next] = entry
    this.next = (this.next + 1) % this.last
    if (this.size < this.last) this.size++
  }

  /** The entries, oldest first. */
  entries(): Array<TraceEntry> {
    const out: Array<TraceEntry> = []
    const start = this.size < this.last ? 0 : this.next
    for (let i = 0; i < this.size; i++) out.push(this.ring[(start + i) % this.last]!)
    return out
  }
}

/**
 * Turns a process's trace on with room for `last` entries (keeping the newest entries of a
 * trace already on), or off with `last` 0. `last` is checked by the callers.
 */
export const setTrace = (proc: Proc, last: number): void => {
  const before = proc.trace
  if (last === 0) {
    proc.trace = null
    return
  }
  if (before !== null && before.last === last) return
  const trace = new Trace(last)
  if (before !== null) for (const entry of before.entries().slice(-last)) trace.push(entry)
  proc.trace = trace
}
