/**
 * Routes of a node in a cluster: the user's static routes first, then the thread address
 * of every node the broker says is listening (so a node restarted with a new creation, or
 * the main thread's node, is reachable as soon as it listens).
 *
 * @internal
 */
import type { MessagePort } from "node:worker_threads"
import * as Transport from "../../Transport/index.js"

/** A routes record that looks node names up in the broker's directory when it has no static route. */
export const routesFor = (
  broker: MessagePort,
  routes: Readonly<Record<string, string>>,
  /** Cluster members named by the main thread (their directory entry may not have arrived yet). */
  members: ReadonlySet<string> = new Set()
): Readonly<Record<string, string>> => {
  const directory = Transport.workerDirectory(broker)
  return new Proxy({ ...routes }, {
    get: (target, key) => {
      if (typeof key !== "string") return undefined
      const fixed = target[key]
      if (fixed !== undefined) return fixed
      const address = `thread:${key}`
      return directory.has(address) || members.has(key) ? address : undefined
    }
  })
}
