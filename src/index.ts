/**
 * Rain: Erlang/OTP-style actors for TypeScript on Effect.
 *
 * @since 0.1.0
 */

/**
 * The `Node` module (see its page).
 *
 * @since 0.1.0
 * @category modules
 */
export * as Node from "./Node/index.js"
/**
 * The `Process` module (see its page).
 *
 * @since 0.1.0
 * @category modules
 */
export * as Process from "./Process/index.js"
/**
 * The `Registry` module (see its page).
 *
 * @since 0.1.0
 * @category modules
 */
export * as Registry from "./Registry/index.js"
/**
 * The `Registrar` module (see its page).
 *
 * @since 0.1.0
 * @category modules
 */
export * as Registrar from "./Registry/Registrar.js"
/**
 * The `Testing` module (see its page).
 *
 * @since 0.1.0
 * @category modules
 */
export * as Testing from "./Testing/index.js"
/**
 * The `Supervisor` module (see its page).
 *
 * @since 0.1.0
 * @category modules
 */
export * as Supervisor from "./Supervisor/index.js"
/**
 * The `Application` module (see its page).
 *
 * @since 0.1.0
 * @category modules
 */
export * as Application from "./Application/index.js"
/**
 * The `Message` module (see its page).
 *
 * @since 0.1.0
 * @category modules
 */
export * as Message from "./Message/index.js"
/**
 * The `Transport` module (see its page).
 *
 * @since 0.1.0
 * @category modules
 */
export * as Transport from "./Transport/index.js"
