/**
 * A FIFO of messages: an array with a moving head, so that push and shift are O(1)
 * without allocating a node per message. One per mailbox lane.
 *
 * Hot path: every send and every receive goes through here.
 *
 * @internal
 */
import type { ExitReason } from "../../Process/ExitReason.js"
import type { Pid } from "../../Process/Pid.js"

export class Lane {
  items: Array<unknown> = []
  head = 0

  get length(): number {
    return this.items.length - this.head
  }

  push(item: unknown): void {
    this.items.push(item)
  }

  shift(): unknown {
    const items = this.items
    const item = items[this.head]
    items[this.head++] = undefined
    if (this.head === items.length) {
      items.length = 0
      this.head = 0
    } else if (this.head >= 4096 && this.head * 2 >= items.length) {
      this.items = items.slice(this.head)
      this.head = 0
    }
    return item
  }

  clear(): void {
    this.items = []
    this.head = 0
  }
}

/** A call waiting in a mailbox: the request and where its reply goes. */
export class CallEnvelope {
  constructor(
    readonly request: unknown,
    readonly from: import("../../Process/Message.js").From
  ) {}
}

/**
 * The trace context of a traced call (`tracing: true`): W3C trace id, the caller's span id,
 * and whether it is sampled. It travels in CALL frames (see `frames.ts`).
 */
export type TraceContext = readonly [traceId: string, spanId: string, sampled: boolean]

/**
 * A call that carries its caller's trace context: the callee's handler runs under a child
 * span. A subclass, so that an untraced call's envelope has no field for it.
 */
export class TracedCallEnvelope extends CallEnvelope {
  constructor(
    request: unknown,
    from: import("../../Process/Message.js").From,
    readonly trace: TraceContext
  ) {
    super(request, from)
  }
}

/**
 * An exit signal from a process's parent, to a process that traps exits: the kernel ends
 * the process through `terminate` when it reaches this in the system lane (gen_server's
 * `{'EXIT', Parent, Reason}`), after the handler it is running.
 */
export class ParentExit {
  constructor(
    readonly from: Pid,
    readonly reason: ExitReason
  ) {}
}
