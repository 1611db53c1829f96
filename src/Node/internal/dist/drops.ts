/**
 * What this node drops of what its peers send, counted and told: a message for a full
 * mailbox (the sender on another node is not told, as in Erlang, so the receiver must
 * say it) and a message whose class this node cannot decode (its schema rejects it here,
 * or it is not registered here). Each cause has a counter (`node.metrics.droppedMessages`)
 * and a log line at most once per second per target (or per type and peer), which says
 * how many more were dropped since the previous line: a flood costs a counter increment
 * per message, not a log line.
 *
 * @internal
 */
import type { Undecodable } from "../../../Message/internal/codec.js"
import type { MailboxFull } from "../../../Process/errors.js"
import type { Alias, Name, Pid } from "../../../Process/Pid.js"
import type { DroppedMessages } from "../../index.js"

/** Keys remembered before the oldest are forgotten (a key per target or per type and peer). */
const MAX_KEYS = 10_000

/** At most one line per key per second; the lines held back are counted into the next one. */
class Limiter {
  private readonly keys = new Map<string, { at: number; held: number }>()

  /** -1 to hold this line back, else how many were held back since the last line. */
  admit(key: string, now: number): number {
    const entry = this.keys.get(key)
    if (entry === undefined) {
      if (this.keys.size >= MAX_KEYS) this.keys.clear()
      this.keys.set(key, { at: now, held: 0 })
      return 0
    }
    if (now - entry.at < 1000) {
      entry.held++
      return -1
    }
    const held = entry.held
    entry.at = now
    entry.held = 0
    return held
  }
}

/** The counters and rate-limited log lines of one node's distribution. */
export class Drops {
  mailboxFull = 0
  undecodable = 0
  private readonly limiter = new Limiter()

  constructor(
    private readonly log: (message: string) => void,
    private readonly now: () => number
  ) {}

  /** A snapshot for `node.metrics`. */
  snapshot(): DroppedMessages {
    return { mailboxFull: this.mailboxFull, undecodable: this.undecodable }
  }

  /** A message from `peer` that a full mailbox here refused. */
  full(peer: string, to: Pid | Alias | Name, error: MailboxFull): void {
    this.mailboxFull++
    const target = to.toString()
    const held = this.limiter.admit(`full\u0000${target}`, this.now())
    if (held < 0) return
    this.log(
      `Dropped a message from ${peer} to ${target}: its mailbox is full (${error.size} messages)${more(held, "to it")}. ` +
        "Its sender is not told: raise mailboxSize, or have the sender call instead"
    )
  }

  /** A message, call or reply from `peer` that does not decode here. */
  bad(peer: string, what: string, value: Undecodable): void {
    this.undecodable++
    const held = this.limiter.admit(`bad\u0000${peer}\u0000${value.type}`, this.now())
    if (held < 0) return
    this.log(`Dropped ${what} from ${peer}: ${value.describe()}${more(held, "of this type")}`)
  }
}

const more = (held: number, of: string): string =>
  held === 0 ? "" : ` (${held} more ${of} since the previous report, in the last second or so)`
