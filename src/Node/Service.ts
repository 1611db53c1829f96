/**
 * The node's service tag, in a file of its own: the modules built on nodes (Supervisor,
 * Registry, Application) name it without importing `Node/index.ts`, which imports the
 * Application module to start the applications given to `Node.start`.
 *
 * @since 0.2.0
 */
import { Context } from "effect"
import type { NodeService } from "./index.js"

/**
 * The node as a service (re-exported as `Node.Node`).
 *
 * @example
 * ```ts
 * const program = Effect.flatMap(Node.Node, (node) => node.spawn(Counter, 0))
 * Effect.provide(program, Node.layer("app@localhost"))
 * ```
 * @since 0.1.0
 * @category tags
 */
export class Node extends Context.Tag("rain/Node")<Node, NodeService>() {}
