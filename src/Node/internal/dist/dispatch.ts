/**
 * Frame dispatch: what this node does with each frame a peer sends. Messages, calls and
 * replies go to the local node through the `Local` seam; link, monitor and exit frames
 * become the signals of `signals.ts`; spawn frames go to `spawn.ts`. A frame that is not
 * one (or names a type this node cannot decode) is dropped with a logged reason and never
 * takes the connection or the node down.
 *
 * Hot path: `onFrame` and `dispatch` of SEND, CALL and REPLY frames.
 *
 * @internal
 */
import { Exit } from "effect"
import { decodeExit, findUndecodable, Undecodable, undecodableCount, unpackMultiple } from "../../../Message/internal/codec.js"
import * as Reason from "../../../Process/ExitReason.js"
import type { Alias, Name, Pid } from "../../../Process/Pid.js"
import type { Conn } from "./conn.js"
import type { Distribution } from "./connection.js"
import type { Frame } from "./frames.js"
import {
  ACK,
  APP_START,
  CALL,
  DEMONITOR,
  DOWN,
  EXIT,
  fromWireAddress,
  fromWireRef,
  laneOf,
  LINK,
  MONITOR,
  REPLY,
  SEND,
  SEND_IMPORTANT,
  SPAWN,
  SPAWNED,
  TICK,
  traceOf,
  UNLINK
} from "./frames.js"

/** A batch of bytes from a peer: one frame or an array of frames per msgpack value. Hot path. */
export const onFrame = (dist: Distribution, conn: Conn, bytes: Uint8Array): void => {
  let values: Array<any>
  const seen = undecodableCount()
  try {
    values = unpackMultiple(bytes)
  } catch (error) {
    dist.log(`Dropped an undecodable frame from ${conn.peerName}: ${error instanceof Error ? error.message : String(error)}`)
    return
  }
  const suspect = undecodableCount() !== seen
  for (const value of values) {
    if (!Array.isArray(value)) {
      dist.log(`Dropped an undecodable frame from ${conn.peerName}: not a frame`)
      continue
    }
    if (value.length > 0 && Array.isArray(value[0])) onFrames(dist, conn, value, suspect)
    else onFrames(dist, conn, [value], suspect)
  }
}

/**
 * Frames of one batch; `suspect` when the batch held a value that did not decode: then
 * each message, call and reply is searched for it. A message that holds one is dropped
 * (counted and logged), a call is answered with the receiver's error (`DecodeFailed` or
 * `TypeNotRegistered`), a reply fails its call with it.
 */
const onFrames = (dist: Distribution, conn: Conn, frames: Array<any>, suspect: boolean): void => {
  conn.framesIn += frames.length
  for (const frame of frames) {
    if (conn.closed) return
    try {
      if (suspect) {
        const kind = frame[0]
        const at = kind === SEND ? 3 : kind === CALL || kind === SEND_IMPORTANT ? 4 : kind === REPLY ? 2 : -1
        const bad = at < 0 ? undefined : findUndecodable(frame[at])
        if (bad !== undefined) {
          if (kind === SEND) {
            dist.drops.bad(conn.peerName, "a message", bad)
            continue
          }
          if (kind === CALL || kind === SEND_IMPORTANT) {
            dist.drops.bad(conn.peerName, kind === CALL ? "a call's request" : "an important message", bad)
            frame[4] = bad
          } else {
            dist.drops.bad(conn.peerName, "a call's reply", bad)
            frame[2] = [false, bad.toError(), true]
          }
        }
      }
      dispatch(dist, conn, frame as Frame)
    } catch (error) {
      dist.log(`Dropped a bad frame from ${conn.peerName}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}

/** One frame. Its fields come from the peer: a wrong one throws, and `onFrames` drops the frame. Hot path. */
const dispatch = (dist: Distribution, conn: Conn, f: Frame): void => {
  const local = dist.local
  switch (f[0]) {
    case SEND: {
      const to = fromWireAddress(f[2])
      const full = local.send(to, f[3], laneOf(f[4]))
      if (full !== undefined) dist.drops.full(conn.peerName, to, full)
      return
    }
    case CALL: {
      const from = fromWireAddress(f[1]) as Pid | Alias
      const to = fromWireAddress(f[2]) as Pid | Name
      const ref = fromWireRef(f[3])
      const request = f[4]
      // the caller fails at once with the receiver's reason, rather than by its timeout
      if (request instanceof Undecodable) return dist.reply(ref, Exit.fail(request.toError()))
      // A traced call's context is its 7th element; anything else there is ignored (untraced).
      const error = local.call(from, to, ref, request, f.length > 6 ? traceOf(f[6]) : undefined)
      if (error !== undefined) dist.reply(ref, Exit.fail(error))
      else if (f.length > 5 && f[5] === true) dist.peers.enqueue(ref.node, [ACK, f[3]], false)
      return
    }
    case SEND_IMPORTANT: {
      const ref = fromWireRef(f[3])
      const payload = f[4]
      // the sender fails at once with the receiver's reason (already logged and counted)
      if (payload instanceof Undecodable) return dist.reply(ref, Exit.fail(payload.toError()))
      const error = local.deliver(fromWireAddress(f[2]), payload, laneOf(f[5]))
      dist.reply(ref, error === undefined ? Exit.void : Exit.fail(error))
      return
    }
    case ACK:
      local.ack(fromWireRef(f[1]))
      return
    case REPLY:
      // an undecodable reply was replaced by its failure in onFrames: no second search
      local.reply(fromWireRef(f[1]), decodeExit(f[2], false))
      return
    case LINK:
      if (!local.link(f[1], f[2])) dist.peers.enqueue(conn.peerName, [EXIT, f[2], f[1], Reason.noproc, true])
      return
    case UNLINK:
      local.unlink(f[1], f[2])
      return
    case EXIT:
      local.exit(f[1], f[2], f[3], f[4] === true)
      return
    case MONITOR:
      if (!local.monitor(f[1], f[2], f[3])) dist.down(f[1], f[3], f[2], Reason.noproc)
      return
    case DEMONITOR:
      local.demonitor(f[2], f[3])
      return
    case DOWN:
      local.down(f[1], f[2], f[3], f[4])
      return
    case SPAWN:
      return dist.spawns.spawnHere(conn.peerName, f[1], f[2], f[3], f[4])
    case APP_START:
      return dist.spawns.startApplicationHere(conn.peerName, f[1], f[2])
    case SPAWNED:
      return dist.spawns.spawned(f)
    case TICK:
      return
    default:
      dist.log(`Dropped a frame of unknown kind ${String((f as ReadonlyArray<unknown>)[0])} from ${conn.peerName}`)
  }
}
