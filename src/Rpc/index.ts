/**
 * `@effect/rpc` where a typed request/response API is the point: the gateway, which
 * serves chosen processes to plain rpc clients (browsers, services) over HTTP, WebSocket
 * and raw sockets.
 *
 * @since 0.2.0
 */

/**
 * Serve processes to plain `@effect/rpc` clients (see `Gateway.Server`, `Gateway.group`).
 *
 * @since 0.2.0
 * @category gateway
 */
export * as Gateway from "./Gateway.js"
