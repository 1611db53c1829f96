/**
 * A consistent-hash ring with virtual nodes: each routee owns `virtualNodes` points on a
 * 32-bit circle, placed by hashing its address with the point's number; a key goes to the
 * owner of the first point at or after the key's hash. Adding a routee moves only the keys
 * that land on its new points (about 1/N of them); removing one moves only its own keys.
 * The ring depends on the set of routees, not on their order.
 *
 * Hot path: `lookup` runs once per routed message: one hash and a binary search.
 *
 * @internal
 */

/** FNV-1a over the UTF-16 code units, then murmur3's finalizer so that similar strings spread over the circle. */
export const hash32 = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

export interface Ring {
  /** Point positions, ascending. */
  readonly points: Uint32Array
  /** The routee (index into the routee list) owning each point. */
  readonly owners: Int32Array
}

/** Builds the ring of `ids` (one string identity per routee), `virtualNodes` points each. */
export const build = (ids: ReadonlyArray<string>, virtualNodes: number): Ring => {
  const entries: Array<readonly [number, number, string]> = []
  for (let r = 0; r < ids.length; r++) {
    for (let v = 0; v < virtualNodes; v++) entries.push([hash32(`${ids[r]}#${v}`), r, ids[r]!])
  }
  // ties (two points on one position) broken by identity, so that the ring does not depend on the order of ids
  entries.sort((a, b) => (a[0] - b[0]) || (a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0))
  const points = new Uint32Array(entries.length)
  const owners = new Int32Array(entries.length)
  for (let i = 0; i < entries.length; i++) {
    points[i] = entries[i]![0]
    owners[i] = entries[i]![1]
  }
  return { points, owners }
}

/** The routee index for `key`; -1 on an empty ring. Hot path. */
export const lookup = (ring: Ring, key: string): number => {
  const n = ring.points.length
  if (n === 0) return -1
  const h = hash32(key)
  let lo = 0
  let hi = n
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (ring.points[mid]! < h) lo = mid + 1
    else hi = mid
  }
  return ring.owners[lo === n ? 0 : lo]!
}
