/**
 * Timers on a Clock that is not the live one (TestClock in tests): a min-heap of
 * deadlines and a single fiber sleeping until the earliest, instead of one sleeping
 * fiber per timer. With the live clock the kernel uses `setTimeout` directly. Also
 * `sendAfter` (Erlang's `send_after`), the one user-facing timer.
 *
 * A cancelled entry stays in the heap (removing it from the middle would cost a search)
 * until it reaches the top or until cancelled entries are the majority: then the heap is
 * rebuilt from its live entries, in O(n) for n/2 cancels, so it never holds more than
 * twice the live timers (a node whose processes die with timers set does not leak).
 *
 * The sleeping fiber is interrupted only for an earlier deadline, never because the heap
 * emptied: it then wakes into an empty heap. TestClock keeps an interrupted sleep in its
 * list until the clock passes it, and `TestClock.adjust` settles every fiber once per
 * sleep it passes (a few ms each): a thousand timers set and cancelled one after the other
 * left a thousand such sleeps, and adjusting past them took seconds.
 *
 * @internal
 */
import type { Clock, Fiber, Runtime } from "effect"
import { Duration, Effect, FiberId, Runtime as R } from "effect"
import type { Timer } from "../../Process/Context.js"
import type { Address } from "../../Process/Pid.js"
import type { Kernel } from "./kernel.js"
import type { Proc } from "./proc.js"

interface Entry {
  readonly at: number
  readonly seq: number
  readonly task: () => void
  cancelled: boolean
  /** Still in the heap (not yet fired, popped or compacted away). */
  queued: boolean
}

const before = (a: Entry, b: Entry) => a.at < b.at || (a.at === b.at && a.seq < b.seq)

/** The heap of timers of one node on a non-live Clock, with its one sleeping fiber. Hot path: `start`. */
export class ClockTimers {
  private readonly heap: Array<Entry> = []
  private seq = 0
  private ticker: Fiber.RuntimeFiber<void> | undefined = undefined
  private tickerAt = Infinity
  /** Cancelled entries still in the heap. */
  private cancelled = 0

  constructor(
    private readonly clock: Clock.Clock,
    private readonly runtime: Runtime.Runtime<never>
  ) {}

  /** Runs `task` after `millis` of Clock time; returns a cancel function. */
  start(millis: number, task: () => void): () => void {
    const entry: Entry = {
      at: this.clock.unsafeCurrentTimeMillis() + millis,
      seq: this.seq++,
      task,
      cancelled: false,
      queued: true
    }
    this.push(entry)
    if (entry.at < this.tickerAt) this.arm(entry.at)
    return () => {
      if (entry.cancelled) return
      entry.cancelled = true
      if (!entry.queued) return
      this.cancelled++
      if (this.cancelled * 2 > this.heap.length) this.compact()
    }
  }

  /** Entries in the heap, cancelled ones included (for tests: it must not grow with cancelled timers). */
  get size(): number {
    return this.heap.length
  }

  /** Timers set and not yet fired or cancelled. */
  get live(): number {
    return this.heap.length - this.cancelled
  }

  /** Drops every cancelled entry and restores the heap order bottom-up (Floyd), O(n). */
  private compact(): void {
    const heap = this.heap
    let live = 0
    for (let i = 0; i < heap.length; i++) {
      const entry = heap[i]!
      if (entry.cancelled) entry.queued = false
      else heap[live++] = entry
    }
    heap.length = live
    this.cancelled = 0
    for (let i = (live >> 1) - 1; i >= 0; i--) this.siftDown(i)
  }

  private arm(at: number): void {
    if (this.ticker !== undefined) this.ticker.unsafeInterruptAsFork(FiberId.none)
    this.tickerAt = at
    const wait = Math.max(0, at - this.clock.unsafeCurrentTimeMillis())
    this.ticker = R.runFork(this.runtime)(
      this.clock.sleep(Duration.millis(wait)).pipe(Effect.zipRight(Effect.sync(() => this.fire())))
    )
  }

  private fire(): void {
    this.ticker = undefined
    this.tickerAt = Infinity
    const now = this.clock.unsafeCurrentTimeMillis()
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const entry = this.pop()
      if (!entry.cancelled) entry.task()
    }
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop()
    if (this.heap.length > 0) this.arm(this.heap[0]!.at)
  }

  private push(entry: Entry): void {
    const heap = this.heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(heap[i]!, heap[parent]!)) break
      ;[heap[i], heap[parent]] = [heap[parent]!, heap[i]!]
      i = parent
    }
  }

  private pop(): Entry {
    const heap = this.heap
    const top = heap[0]!
    top.queued = false
    if (top.cancelled) this.cancelled--
    const last = heap.pop()!
    if (heap.length > 0) {
      heap[0] = last
      this.siftDown(0)
    }
    return top
  }

  private siftDown(from: number): void {
    const heap = this.heap
    let i = from
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < heap.length && before(heap[l]!, heap[m]!)) m = l
      if (r < heap.length && before(heap[r]!, heap[m]!)) m = r
      if (m === i) break
      ;[heap[i], heap[m]] = [heap[m]!, heap[i]!]
      i = m
    }
  }
}

/**
 * Sends `message` to `to` after `delay` of Clock time. As in Erlang, a timer to a local
 * pid dies with that process.
 */
export const sendAfter = (
  kernel: Kernel,
  owner: Proc | undefined,
  to: Address<any, any>,
  message: unknown,
  delay: Duration.DurationInput
): Timer => {
  const ref = kernel.makeRef()
  const target = kernel.lookup(to)
  let fired = false
  let cancelled = false
  const cancelFn = kernel.startTimer(Duration.toMillis(Duration.decode(delay)), () => {
    fired = true
    target?.timers?.delete(ref.id)
    if (target !== undefined) kernel.enqueue(target, message, "normal")
    else kernel.send(owner, to, message)
  })
  // Cancelled with its target (`finalize`): a `cancel` after that finds nothing, as Erlang's cancel_timer.
  if (target !== undefined) {
    ;(target.timers ??= new Map()).set(ref.id, () => {
      cancelled = true
      cancelFn()
    })
  }
  const cancel = Effect.sync(() => {
    if (fired || cancelled) return false
    cancelled = true
    target?.timers?.delete(ref.id)
    cancelFn()
    return true
  })
  return { ref, cancel }
}
