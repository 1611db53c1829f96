/**
 * Cutting a byte stream into frames (raw chunks, newline-terminated lines, or
 * length-prefixed frames) and framing what is written. Used by every TCP connection on
 * each chunk it reads: a hot path, written to copy only when a frame spans chunks.
 *
 * @internal
 */
import type { Framing } from "../types.js"

/** A frame longer than the connection's `maxFrameSize`. */
export class FrameTooLarge {
  readonly _tag = "FrameTooLarge"
  constructor(readonly size: number, readonly limit: number) {}
  get message(): string {
    return `frame of ${this.size} bytes is over maxFrameSize (${this.limit} bytes)`
  }
}

/**
 * Decoder: push a chunk, get the complete frames it finishes. When a frame is over the
 * limit, the frames before it are returned and the FrameTooLarge is the last element:
 * the connection delivers them, then closes.
 */
export type Decoder = (chunk: Uint8Array) => Array<Uint8Array | FrameTooLarge>

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  if (a.length === 0) return b
  const out = new Uint8Array(a.length + b.length)
  out.set(a, 0)
  out.set(b, a.length)
  return out
}

const empty = new Uint8Array(0)

/** Hot path: one decoder per connection, called for every chunk read. */
export const decoder = (framing: Framing, limit: number): Decoder => {
  if (framing === "raw") return (chunk) => [chunk]
  let rest: Uint8Array = empty
  if (framing === "line") {
    return (chunk) => {
      const frames: Array<Uint8Array | FrameTooLarge> = []
      let start = 0
      let buffer = chunk
      let i = chunk.indexOf(10)
      if (i >= 0 && rest.length > 0) {
        buffer = concat(rest, chunk)
        i += rest.length
        rest = empty
      }
      while (i >= 0) {
        const end = i > start && buffer[i - 1] === 13 ? i - 1 : i
        if (end - start > limit) {
          frames.push(new FrameTooLarge(end - start, limit))
          return frames
        }
        frames.push(buffer.subarray(start, end))
        start = i + 1
        i = buffer.indexOf(10, start)
      }
      if (start < buffer.length) rest = concat(rest, buffer.subarray(start))
      if (rest.length > limit) frames.push(new FrameTooLarge(rest.length, limit))
      return frames
    }
  }
  const width = framing.lengthPrefix
  return (chunk) => {
    const frames: Array<Uint8Array | FrameTooLarge> = []
    let buffer = rest.length === 0 ? chunk : concat(rest, chunk)
    let at = 0
    while (buffer.length - at >= width) {
      // The loop condition keeps at + width <= buffer.length, so buffer[at] ... buffer[at + width - 1] exist.
      const size = width === 1
        ? buffer[at]!
        : width === 2
        ? (buffer[at]! << 8) | buffer[at + 1]!
        : ((buffer[at]! << 24) >>> 0) + ((buffer[at + 1]! << 16) | (buffer[at + 2]! << 8) | buffer[at + 3]!)
      if (size > limit) {
        frames.push(new FrameTooLarge(size, limit))
        return frames
      }
      if (buffer.length - at - width < size) break
      frames.push(buffer.subarray(at + width, at + width + size))
      at += width + size
    }
    buffer = buffer.subarray(at)
    rest = buffer.length === 0 ? empty : buffer === chunk ? buffer.slice() : buffer
    return frames
  }
}

/** Frames one outgoing message; fails when it cannot be framed (too long for the prefix). */
export const encode = (framing: Framing, data: string | Uint8Array): Uint8Array | string => {
  const bytes = typeof data === "string" ? Buffer.from(data) : data
  if (framing === "raw") return bytes
  if (framing === "line") {
    const out = Buffer.allocUnsafe(bytes.length + 1)
    out.set(bytes, 0)
    out[bytes.length] = 10
    return out
  }
  const width = framing.lengthPrefix
  const max = width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff
  if (bytes.length > max) {
    return `a ${bytes.length}-byte frame does not fit a ${width}-byte length prefix (at most ${max} bytes)`
  }
  const out = Buffer.allocUnsafe(bytes.length + width)
  out.writeUIntBE(bytes.length, 0, width)
  out.set(bytes, width)
  return out
}

/** Checks a framing value; the reason when it is not one. */
export const badFraming = (framing: unknown): string | undefined =>
  framing === undefined || framing === "raw" || framing === "line" ||
    (typeof framing === "object" && framing !== null && [1, 2, 4].includes((framing as any).lengthPrefix))
    ? undefined
    : `must be "raw", "line" or { lengthPrefix: 1 | 2 | 4 } (got ${JSON.stringify(framing)})`
