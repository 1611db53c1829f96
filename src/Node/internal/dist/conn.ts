/**
 * One authenticated session to a peer, with batched writes: every frame queued during one
 * synchronous run (a kernel drain, a fiber's burst of sends) leaves in one write.
 *
 * Hot path: `write` and `flush` carry every frame this node sends.
 *
 * @internal
 */
import { Effect } from "effect"
import { pack } from "../../../Message/internal/codec.js"
import type * as Transport from "../../../Transport/index.js"
import type { Distribution } from "./connection.js"
import { onFrame } from "./dispatch.js"
import { busyWait } from "./busyWait.js"
import type { Frame } from "./frames.js"
import { ACK, CALL, REPLY, SEND_IMPORTANT } from "./frames.js"

/** Frames queued for a peer before they are written without waiting for the end of the run. */
const EARLY_FLUSH = 64

/** One authenticated session to a peer, with batched writes. */
export class Conn {
  /** Clock time of the last frame in and out (for the net tick). */
  lastReceived: number
  lastSent: number
  /** Frames, or frames already packed (large payloads are packed at send time). */
  private out: Array<Frame | Buffer> = []
  private flushing = false
  closed = false
  readonly peerName: string
  readonly peerCreation: number
  /** Clock time the connection came up. */
  readonly since: number
  /** Frames received and queued for sending (messages, calls, replies, signals, ticks). */
  framesIn = 0
  framesOut = 0

  constructor(
    readonly dist: Distribution,
    readonly session: Transport.Session
  ) {
    this.peerName = session.peer.name
    this.peerCreation = session.peer.creation
    this.lastReceived = this.lastSent = this.since = dist.local.now()
    session.setHandler({
      onFrame: (bytes) => {
        this.lastReceived = dist.local.now()
        onFrame(dist, this, bytes)
      },
      onClose: (reason) => this.close(reason.detail)
    })
  }

  /**
   * Queues a frame; the queue is written once the current synchronous run (a kernel
   * drain, a fiber's burst of sends) ends, so that everything it sent goes in one write.
   * A microtask rather than setImmediate: a long send loop that yields only to the
   * Effect scheduler still gets its batches onto the wire while it runs.
   */
  write(frame: Frame | Buffer): void {
    if (this.closed) return
    this.framesOut++
    if (this.out.push(frame) >= EARLY_FLUSH) {
      // Long runs leave in slices, so the peer starts on them while this node goes on:
      // both nodes work at once instead of taking turns (100 concurrent callers, say).
      this.flush()
      this.session.flush()
      return
    }
    if (!this.flushing) {
      this.flushing = true
      queueMicrotask(this.flush)
    }
  }

  readonly flush = (): void => {
    this.lastSent = this.dist.local.now()
    this.flushing = false
    const frames = this.out
    if (frames.length === 0 || this.closed) return
    this.out = []
    // Runs of small frames are packed together as one array (one pack call, one session
    // frame, never compressed); a large frame was packed at send time and goes on its own,
    // compressed when the session negotiated compression.
    let run: Array<Frame> = []
    // A request or an answer among them: busy-wait after the write (see busyWait.ts).
    let answerAwaited = false
    for (const frame of frames) {
      if (frame instanceof Buffer) {
        this.sendRun(run)
        run = []
        this.sendBytes(frame, true)
      } else {
        run.push(frame as Frame)
        if (!answerAwaited) {
          const kind = (frame as Frame)[0]
          answerAwaited = kind === CALL || kind === REPLY || kind === SEND_IMPORTANT || kind === ACK
        }
      }
    }
    this.sendRun(run)
    if (answerAwaited && this.dist.busyWaitMillis > 0) busyWait(this.dist.busyWaitMillis)
  }

  private sendRun(run: Array<Frame>): void {
    if (run.length === 0) return
    let bytes: Buffer
    try {
      bytes = pack(run)
    } catch {
      // a value that does not encode: find it, one frame at a time
      if (run.length === 1) {
        const frame = run[0]!
        if (frame[0] === REPLY) {
          // the caller must hear of it rather than wait for its timeout
          this.sendRun([[REPLY, frame[1], [false, "the reply could not be encoded for the wire", false]]])
          return
        }
        this.dist.log(`Dropped a message to ${this.peerName} that does not encode`)
        return
      }
      for (const frame of run) this.sendRun([frame])
      return
    }
    if (bytes.length > this.session.maxMessageSize && run.length > 1) {
      const half = run.length >> 1
      this.sendRun(run.slice(0, half))
      this.sendRun(run.slice(half))
      return
    }
    this.sendBytes(bytes, false)
  }

  private sendBytes(bytes: Buffer, compress: boolean): void {
    const result = this.session.send(bytes, compress)
    if (result._tag === "Left" && result.left._tag === "MessageTooLarge") {
      this.dist.log(`Dropped a message to ${this.peerName}: ${result.left.message} (the peer's maxMessageSize is smaller than ours)`)
    }
  }

  /** Sends what is queued, then closes. */
  end(): void {
    if (this.closed) return
    this.flush()
    Effect.runSync(this.session.close)
  }

  /** Sends what is queued, then closes at once, telling the peers table why. */
  destroy(reason: string): void {
    if (this.closed) return
    this.flush()
    this.close(reason)
    Effect.runSync(this.session.close)
  }

  close(reason: string): void {
    if (this.closed) return
    this.closed = true
    this.out = []
    this.dist.peers.closed(this, reason)
  }
}
