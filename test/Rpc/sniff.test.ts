import { afterEach, assert, beforeEach, describe, it, vi } from "vitest"
import { PREAMBLE, sniff } from "../../src/Rpc/internal/controlSocket.js"
import type { Duplex } from "../../src/Transport/internal/duplex.js"

/** A duplex whose other end the test plays: `push` bytes in, `end` it, read what was closed. */
const fakeDuplex = () => {
  let onData: ((chunk: Uint8Array) => void) | undefined
  let onClose: ((error: unknown) => void) | undefined
  const state = { closed: false as boolean, closeError: undefined as unknown }
  const duplex: Duplex = {
    remoteAddress: "test:1",
    write: () => {},
    onData: (h) => (onData = h),
    onClose: (h) => (onClose = h),
    close: (error) => {
      if (state.closed) return
      state.closed = true
      state.closeError = error
      onClose?.(error)
    }
  }
  return {
    duplex,
    state,
    push: (bytes: Uint8Array) => onData!(bytes),
    end: () => duplex.close()
  }
}

const route = () => {
  const seen = { node: [] as Array<Uint8Array>, control: [] as Array<Uint8Array>, refused: [] as Array<string> }
  const collect = (into: Array<Uint8Array>) => (d: Duplex) => d.onData((chunk) => into.push(chunk))
  return { seen, node: collect(seen.node), control: collect(seen.control), refused: (why: string) => seen.refused.push(why) }
}

describe("the node's port tells a node from a control client by the first bytes", () => {
  beforeEach(() => {
    vi.useFakeTimers()
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it("a node's handshake goes to the node, whole; a control client's preamble is taken off", () => {
    const r = route()
    const a = fakeDuplex()
    sniff(a.duplex, r.node, r.control, r.refused)
    a.push(new Uint8Array([0, 0, 0, 5, 1]))
    a.push(new Uint8Array([2]))
    assert.deepStrictEqual(r.seen.node.map((c) => Array.from(c)), [[0, 0, 0, 5, 1], [2]])
    const b = fakeDuplex()
    sniff(b.duplex, r.node, r.control, r.refused)
    b.push(PREAMBLE.subarray(0, 3))
    assert.strictEqual(r.seen.control.length, 0, "not routed before the whole preamble")
    b.push(new Uint8Array([...PREAMBLE.subarray(3), 9, 9]))
    assert.deepStrictEqual(r.seen.control.map((c) => Array.from(c)), [[9, 9]])
    vi.advanceTimersByTime(60_000)
    assert.deepStrictEqual(r.seen.refused, [])
    assert.isFalse(a.state.closed)
    assert.isFalse(b.state.closed)
  })

  it("bad first bytes are refused and closed at once", () => {
    const r = route()
    const a = fakeDuplex()
    sniff(a.duplex, r.node, r.control, r.refused)
    a.push(new TextEncoder().encode("RAINXXX1"))
    assert.strictEqual(r.seen.refused.length, 1)
    assert.include(r.seen.refused[0]!, "neither a node nor a control client")
    assert.isTrue(a.state.closed)
  })

  it("a connection silent for 10 s is refused and closed; one closed before it said anything is not refused", () => {
    const r = route()
    const silent = fakeDuplex()
    sniff(silent.duplex, r.node, r.control, r.refused)
    const gone = fakeDuplex()
    sniff(gone.duplex, r.node, r.control, r.refused)
    gone.end()
    vi.advanceTimersByTime(9_999)
    assert.deepStrictEqual(r.seen.refused, [])
    vi.advanceTimersByTime(1)
    assert.deepStrictEqual(r.seen.refused, ["test:1 sent nothing in 10 s"])
    assert.isTrue(silent.state.closed)
  })
})
