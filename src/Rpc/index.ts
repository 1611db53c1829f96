/**
 * `@effect/rpc` where a typed request/response API is the point: the node control plane
 * (`Control`), served by every node with distribution on its own listener, and the gateway
 * (`Gateway`), which serves chosen processes to plain rpc clients (browsers, services) over
 * HTTP, WebSocket and raw sockets.
 *
 * @since 0.2.0
 */

/**
 * The node control plane: its `RpcGroup` (`Control.Rpcs`) and `Control.client`.
 *
 * @since 0.2.0
 * @category control plane
 */
export * as Control from "./Control.js"

/**
 * Serve processes to plain `@effect/rpc` clients (see `Gateway.Server`, `Gateway.group`).
 *
 * @since 0.2.0
 * @category gateway
 */
export * as Gateway from "./Gateway.js"
