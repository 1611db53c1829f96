/**
 * The node's memory limit (`limits.maxMemory`): on an interval of Clock time the node
 * samples what it can measure honestly (V8's used heap plus the memory of Buffers outside
 * it, for the whole OS process) and, above the limit, sheds load instead of dying: spawn
 * and sends to local processes fail with `MemoryLimit`, `node.send` waits; below 90% of
 * the limit it recovers by itself. Messages already accepted stay where they are.
 *
 * The hot paths pay one boolean (`kernel.memoryHigh`) per send and spawn; everything
 * here runs once per interval.
 *
 * @internal
 */
import { getHeapStatistics } from "node:v8"
import { LogLevel } from "effect"
import { MemoryLimit } from "../../Process/errors.js"
import { quickError } from "./calls.js"
import type { Kernel } from "./kernel.js"
import type { Proc } from "./proc.js"

/** Bytes the OS process holds in V8's heap and in Buffers outside it. */
export const heapSample = (): number => {
  const stats = getHeapStatistics()
  return stats.used_heap_size + ((stats as { readonly external_memory?: number }).external_memory ?? 0)
}

/**
 * The spawn option (internal) of a supervisor's restart: not refused above the limit,
 * since it replaces what the crash freed and refusing it would make the supervisor give up.
 */
export const restartSpawn: unique symbol = Symbol.for("rain/Supervisor/restart")

/** A rough size of one queued message (the envelope and a small payload), for the mailbox estimate. */
const bytesPerMessage = 64

/**
 * The heap of one idle process, as `npm run bench` measures it (`spawn.bytes_per_process`:
 * heap delta over 100k idle processes after a full GC; 537 B in bench/README.md). Its
 * state and queued messages are extra. For `node.metrics().memoryBreakdown`.
 */
export const BYTES_PER_PROCESS = 540

/** The node's estimate of the bytes its mailboxes hold (messages queued times `bytesPerMessage`). */
export const mailboxBytes = (kernel: Kernel): number => {
  let messages = 0
  for (const proc of kernel.procs.values()) messages += proc.mailboxLength()
  return messages * bytesPerMessage
}

/** How many processes the warning names. */
const named = 5

/** The memory guard of one node. */
export class MemoryGuard {
  /** The sampler: V8 heap statistics; tests replace it (the internal seam) to drive the guard. */
  sample: () => number = heapSample
  /** The last sampled figure, in bytes. */
  used = 0
  /** `node.send`s waiting for the node to be back under the limit, in arrival order. */
  private waiters: Array<() => void> = []
  private cancel: (() => void) | undefined = undefined
  private error: MemoryLimit | undefined = undefined

  constructor(
    private readonly kernel: Kernel,
    readonly limit: number,
    readonly intervalMillis: number
  ) {}

  start(): void {
    this.cancel = this.kernel.startTimer(this.intervalMillis, this.tick)
  }

  stop(): void {
    this.cancel?.()
    this.cancel = undefined
    this.release()
  }

  private readonly tick = (): void => {
    this.cancel = undefined
    if (this.kernel.stopped) return
    this.check()
    this.cancel = this.kernel.startTimer(this.intervalMillis, this.tick)
  }

  /** Samples now and enters or leaves the shedding state. */
  check(): void {
    this.used = this.sample()
    if (!this.kernel.memoryHigh && this.used > this.limit) this.enter()
    else if (this.kernel.memoryHigh && this.used < this.limit * 0.9) this.leave()
  }

  /** The error of a refused spawn or send (one per shedding episode: a refusal must stay cheap). */
  refusal(): MemoryLimit {
    return (this.error ??= quickError(() => new MemoryLimit({ node: this.kernel.name, limit: this.limit, used: this.used }, true)))
  }

  /** Waits for the node to be back under the limit (`node.send`). */
  whenBelow(resume: () => void): () => void {
    this.waiters.push(resume)
    return () => {
      const i = this.waiters.indexOf(resume)
      if (i >= 0) this.waiters.splice(i, 1)
    }
  }

  /** The node's own estimate of the bytes its mailboxes hold, and the processes with the largest. */
  mailboxes(): { readonly bytes: number; readonly largest: ReadonlyArray<Proc> } {
    let messages = 0
    const largest: Array<Proc> = []
    for (const proc of this.kernel.procs.values()) {
      const length = proc.mailboxLength()
      if (length === 0) continue
      messages += length
      if (largest.length < named || length > largest[largest.length - 1]!.mailboxLength()) {
        largest.push(proc)
        largest.sort((a, b) => b.mailboxLength() - a.mailboxLength())
        if (largest.length > named) largest.pop()
      }
    }
    return { bytes: messages * bytesPerMessage, largest }
  }

  private enter(): void {
    this.kernel.memoryHigh = true
    this.error = undefined
    const { bytes, largest } = this.mailboxes()
    const names = largest.map((proc) => `${proc.label()} (${proc.behaviour.name}): ${proc.mailboxLength()} messages`)
    this.kernel.reports.log(
      LogLevel.Warning,
      `memory above limits.maxMemory (${this.used} of ${this.limit} bytes): refusing spawns and sends to local ` +
        `processes until below 90%. Mailboxes hold about ${bytes} bytes; the largest: ${names.length === 0 ? "none" : names.join("; ")}`,
      { node: this.kernel.name, used: String(this.used), limit: String(this.limit), largest: names.join("; ") }
    )
  }

  private leave(): void {
    this.kernel.memoryHigh = false
    this.kernel.reports.log(
      LogLevel.Info,
      `memory back below 90% of limits.maxMemory (${this.used} of ${this.limit} bytes): accepting spawns and sends again`,
      { node: this.kernel.name, used: String(this.used), limit: String(this.limit) }
    )
    this.release()
  }

  private release(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const resume of waiters) resume()
  }
}
