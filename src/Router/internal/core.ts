/**
 * The router value: a logic over routees, and how it picks routees for a message.
 *
 * Hot path: `route` runs once per routed message.
 *
 * @internal
 */
import { Effect, Random } from "effect"
import type { Address } from "../../Process/Pid.js"
import { InvalidRouter, NoRoutees } from "../errors.js"
import type { Ring } from "./ring.js"
import { build, lookup } from "./ring.js"

/**
 * How a router picks routees for a message.
 */
export type Logic<M = any> =
  | { readonly _tag: "Broadcast" }
  | { readonly _tag: "Random" }
  | { readonly _tag: "RoundRobin" }
  | {
    readonly _tag: "ConsistentHashing"
    readonly key: (message: M) => string | number
    readonly virtualNodes: number
  }

/**
 * Every routee gets every message.
 */
export const broadcast: Logic = { _tag: "Broadcast" }

/**
 * One routee picked uniformly at random (Effect's `Random`).
 */
export const random: Logic = { _tag: "Random" }

/**
 * Each routee in turn.
 */
export const roundRobin: Logic = { _tag: "RoundRobin" }

/**
 * The routee that owns the message's key on a hash ring with `virtualNodes` points per
 * routee (default 160): the same key always reaches the same routee while the routees stay
 * the same, and a routee joining or leaving moves only about 1/N of the keys.
 */
export const consistentHashing = <M>(options: {
  readonly key: (message: M) => string | number
  readonly virtualNodes?: number | undefined
}): Logic<M> => ({ _tag: "ConsistentHashing", key: options.key, virtualNodes: options.virtualNodes ?? 160 })

/**
 * A routing logic over a set of routees. Immutable but for the round-robin position; build
 * it with `make` and change its routees with `withRoutees`.
 */
export interface Router<M = unknown, Q = never> {
  readonly logic: Logic<M>
  readonly routees: ReadonlyArray<Address<M, Q>>
  readonly ring: Ring | undefined
  next: number
}

const identity = (address: Address<any, any>): string => typeof address === "string" ? address : String(address)

/** A value in an error message: strings quoted. */
const describe = (value: unknown): string => typeof value === "string" ? JSON.stringify(value) : String(value)

const tags = ["Broadcast", "Random", "RoundRobin", "ConsistentHashing"]

/** What is wrong with a logic given from plain JS, if anything. */
const checkLogic = (logic: unknown): string | undefined => {
  const tag: unknown = typeof logic === "object" && logic !== null ? (logic as { _tag?: unknown })._tag : undefined
  if (typeof tag !== "string" || !tags.includes(tag)) {
    return `the logic is ${describe(logic)}: use Router.broadcast, Router.random, Router.roundRobin or ` +
      `Router.consistentHashing({ key })`
  }
  if (tag === "ConsistentHashing" && typeof (logic as { key?: unknown }).key !== "function") {
    return "consistentHashing needs a key function ({ key: (message) => string | number })"
  }
  return undefined
}

/**
 * Builds a router. Fails with `InvalidRouter` for a `virtualNodes` that is not an integer in
 * 1..10,000, or a routee given twice.
 */
export const make = <M, Q = never>(
  logic: Logic<M>,
  routees: Iterable<Address<M, Q>>
): Effect.Effect<Router<M, Q>, InvalidRouter> =>
  Effect.suspend((): Effect.Effect<Router<M, Q>, InvalidRouter> => {
    const bad = checkLogic(logic)
    if (bad !== undefined) return Effect.fail(new InvalidRouter({ reason: bad }))
    if (
      typeof routees !== "object" || routees === null ||
      typeof (routees as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== "function"
    ) {
      return Effect.fail(
        new InvalidRouter({ reason: `the routees are ${describe(routees)}: give an array of pids or names` })
      )
    }
    const list = Array.from(routees)
    const notAddress = list.find((routee) => typeof routee !== "string" && (typeof routee !== "object" || routee === null))
    if (notAddress !== undefined) {
      return Effect.fail(
        new InvalidRouter({ reason: `routee ${describe(notAddress)} is not a pid or a name` })
      )
    }
    const ids = list.map(identity)
    const seen = new Set<string>()
    for (const id of ids) {
      if (seen.has(id)) return Effect.fail(new InvalidRouter({ reason: `routee ${id} is given twice` }))
      seen.add(id)
    }
    if (logic._tag !== "ConsistentHashing") return Effect.succeed({ logic, routees: list, ring: undefined, next: 0 })
    const v = logic.virtualNodes
    if (!(Number.isInteger(v) && v >= 1 && v <= 10_000)) {
      return Effect.fail(new InvalidRouter({ reason: `virtualNodes is ${v}: it must be an integer from 1 to 10000` }))
    }
    return Effect.succeed({ logic, routees: list, ring: build(ids, v), next: 0 })
  })

/**
 * The same logic over other routees (a consistent-hash router keeps the keys of the routees
 * that stay where they were).
 */
export const withRoutees = <M, Q>(
  router: Router<M, Q>,
  routees: Iterable<Address<M, Q>>
): Effect.Effect<Router<M, Q>, InvalidRouter> => make(router.logic, routees)

/**
 * The routees a message goes to: all of them for broadcast, one otherwise. Fails with
 * `NoRoutees` when there are none.
 */
export const route = <M, Q>(router: Router<M, Q>, message: M): Effect.Effect<ReadonlyArray<Address<M, Q>>, NoRoutees> => {
  const n = router.routees.length
  if (n === 0) return Effect.fail(new NoRoutees({ logic: router.logic._tag }))
  switch (router.logic._tag) {
    case "Broadcast":
      return Effect.succeed(router.routees)
    case "Random":
      return Effect.map(Random.nextIntBetween(0, n), (i) => [router.routees[i]!])
    case "RoundRobin":
      return Effect.sync(() => {
        const i = router.next % n
        router.next = (i + 1) % n
        return [router.routees[i]!]
      })
    case "ConsistentHashing": {
      const key = router.logic.key
      const ring = router.ring!
      return Effect.sync(() => [router.routees[lookup(ring, String(key(message)))]!])
    }
  }
}

