/**
 * `@effect/rpc` where a typed request/response API is the point: the node control plane
 * (`Control`), served by every node with distribution on its own listener.
 *
 * @since 0.2.0
 */

/**
 * The node control plane: its `RpcGroup` (`Control.Rpcs`) and `Control.client`.
 *
 * @since 0.2.0
 */
export * as Control from "./Control.js"
