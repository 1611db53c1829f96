/**
 * Call timeouts on the live clock, without a `setTimeout`/`clearTimeout` pair per call
 * (measured: ~0.4-0.8 µs per call, a fifth of a local call's cost). Calls with the same
 * timeout get deadlines in the order they are made, so each timeout length is one FIFO lane
 * served by one timer armed for its oldest entry. Answering a call only marks its entry;
 * a lane whose entries are all answered drops them and unrefs its timer (an idle node does
 * not stay alive for a reply that already came), and a lane that keeps calls outstanding
 * drops its answered entries once they outnumber the live ones, so it holds at most about
 * twice the calls in flight.
 *
 * Deadlines come from `Date.now()` (the live clock); if the wall clock steps back, an
 * entry behind an earlier one fires late by at most that step.
 *
 * @internal
 */

interface Entry {
  readonly deadline: number
  task: (() => void) | undefined
}

class Lane {
  entries: Array<Entry> = []
  head = 0
  live = 0
  timer: ReturnType<typeof setTimeout> | undefined = undefined
  refed = false
  /** Inside `fire`: a call made by a task must not arm a timer of its own (the lane re-arms after). */
  firing = false

  constructor(readonly millis: number) {}
}

/** Slack for a timer that fires a little before its entry's deadline (libuv's clock vs `Date.now`). */
const slack = 1

/** The compaction threshold: answered entries kept before a lane is rebuilt from its live ones. */
const minDead = 256

/** @internal */
export class Deadlines {
  private readonly lanes = new Map<number, Lane>()

  /** Runs `task` at `now + millis` unless the returned cancel runs first. Hot path. */
  start(now: number, millis: number, task: () => void): () => void {
    let lane = this.lanes.get(millis)
    if (lane === undefined) {
      lane = new Lane(millis)
      this.lanes.set(millis, lane)
    }
    const entry: Entry = { deadline: now + millis, task }
    lane.entries.push(entry)
    lane.live++
    if (lane.timer === undefined) {
      if (!lane.firing) {
        lane.timer = setTimeout(() => this.fire(lane), millis)
        lane.refed = true
      }
    } else if (!lane.refed) {
      lane.timer.ref()
      lane.refed = true
    }
    const owner = lane
    return () => this.cancel(owner, entry)
  }

  private cancel(lane: Lane, entry: Entry): void {
    if (entry.task === undefined) return
    entry.task = undefined
    lane.live--
    if (lane.live === 0) {
      // Everything answered: forget the entries; the armed timer stays (re-arming costs
      // more than an idle wake-up per timeout length) but no longer holds the loop open.
      lane.entries = []
      lane.head = 0
      if (lane.refed && lane.timer !== undefined) {
        lane.timer.unref()
        lane.refed = false
      }
      return
    }
    const dead = lane.entries.length - lane.head - lane.live
    if (dead > minDead && dead > lane.live) this.compact(lane)
  }

  private compact(lane: Lane): void {
    const kept: Array<Entry> = []
    for (let i = lane.head; i < lane.entries.length; i++) {
      const entry = lane.entries[i]!
      if (entry.task !== undefined) kept.push(entry)
    }
    lane.entries = kept
    lane.head = 0
  }

  private fire(lane: Lane): void {
    lane.timer = undefined
    lane.refed = false
    lane.firing = true
    const now = Date.now()
    try {
      // `lane.entries` is read again each turn: a task may answer calls of this lane (compacting it).
      while (lane.head < lane.entries.length) {
        const entry = lane.entries[lane.head]!
        if (entry.deadline > now + slack) break
        lane.head++
        const task = entry.task
        if (task === undefined) continue
        entry.task = undefined
        lane.live--
        task()
      }
    } finally {
      lane.firing = false
      this.rearm(lane, now)
    }
  }

  private rearm(lane: Lane, now: number): void {
    if (lane.timer !== undefined) return
    // Skip answered entries at the head: the timer is armed for the oldest live one.
    while (lane.head < lane.entries.length && lane.entries[lane.head]!.task === undefined) lane.head++
    if (lane.head >= lane.entries.length) {
      // Nothing outstanding: the lane goes (timeouts of many lengths must not pile up lanes).
      if (this.lanes.get(lane.millis) === lane) this.lanes.delete(lane.millis)
      lane.entries = []
      lane.head = 0
      lane.live = 0
      return
    }
    if (lane.head > minDead && lane.head * 2 > lane.entries.length) {
      lane.entries = lane.entries.slice(lane.head)
      lane.head = 0
    }
    const wait = Math.max(1, lane.entries[lane.head]!.deadline - now)
    lane.timer = setTimeout(() => this.fire(lane), wait)
    lane.refed = true
  }

  /**
   * Entries the lanes' arrays hold, answered and already fired ones included (for tests:
   * bounded by about twice the live ones).
   */
  get size(): number {
    let n = 0
    for (const lane of this.lanes.values()) n += lane.entries.length
    return n
  }

  /** Lanes kept (for tests: a lane goes once nothing in it is outstanding). */
  get laneCount(): number {
    return this.lanes.size
  }
}
