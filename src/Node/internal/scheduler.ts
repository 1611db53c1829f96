/**
 * The Effect `Scheduler` of every fiber a node runs (handlers that suspend, timers,
 * node-level effects): its tasks run inside the kernel's drain loop rather than on a
 * macrotask each, so that a reply resumes its caller in the same turn.
 *
 * Hot path: every fiber task of the node goes through `scheduleTask` and `run`.
 *
 * @internal
 */
import type { Fiber, Scheduler } from "effect"

/**
 * An Effect `Scheduler` whose tasks run inside the kernel's drain loop.
 *
 * @internal
 */
export class KernelScheduler implements Scheduler.Scheduler {
  private tasks: Array<Scheduler.Task> = []
  private spare: Array<Scheduler.Task> = []
  constructor(private readonly wake: () => void) {}

  get size(): number {
    return this.tasks.length
  }

  shouldYield(fiber: Fiber.RuntimeFiber<unknown, unknown>): number | false {
    return fiber.currentOpCount > 2048 ? 0 : false
  }

  scheduleTask(task: Scheduler.Task): void {
    this.tasks.push(task)
    if (this.tasks.length === 1) this.wake()
  }

  /** Runs the tasks queued so far (not those they queue); returns how many ran. */
  run(): number {
    const batch = this.tasks
    this.tasks = this.spare
    for (let i = 0; i < batch.length; i++) batch[i]!()
    const n = batch.length
    batch.length = 0
    this.spare = batch
    return n
  }
}
