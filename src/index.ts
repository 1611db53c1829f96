/**
 * Rain: Erlang/OTP-style actors for TypeScript on Effect.
 *
 * Modules with dependencies of their own are entry points of their own: `rain/Database`
 * (`@effect/sql` and a driver), `rain/Meta` (`@effect/platform-node`), `rain/Rpc` (the control
 * plane's client and the gateway; `@effect/platform-node` for the gateway) and `rain/Telemetry`
 * (`@effect/opentelemetry` and OpenTelemetry's packages).
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
/**
 * The `StateMachine` module (gen_statem; see its page).
 *
 * @since 0.2.0
 * @category modules
 */
export * as StateMachine from "./StateMachine/index.js"
/**
 * The `Cron` module (scheduled jobs; see its page).
 *
 * @since 0.2.0
 * @category modules
 */
export * as Cron from "./Cron/index.js"
/**
 * The `Pool` module (worker pools; see its page).
 *
 * @since 0.2.0
 * @category modules
 */
export * as Pool from "./Pool/index.js"
/**
 * The `Router` module (broadcast, random, round-robin and consistent-hash routing; see its page).
 *
 * @since 0.2.0
 * @category modules
 */
export * as Router from "./Router/index.js"
/**
 * The `Code` module (hot code loading and upgrades; see its page).
 *
 * @since 0.2.0
 * @category modules
 */
export * as Code from "./Code/index.js"
/**
 * The `Event` module (named events with subscribers on any node; see its page).
 *
 * @since 0.2.0
 * @category modules
 */
export * as Event from "./Event/index.js"
/**
 * The `Group` module (process groups across nodes, as Erlang's `pg`; see its page).
 *
 * @since 0.2.0
 * @category modules
 */
export * as Group from "./Group/index.js"
/**
 * The `Cluster` module (nodes in worker threads; see its page).
 *
 * @since 0.2.0
 * @category modules
 */
export * as Cluster from "./Cluster/index.js"
// Modules with dependencies of their own are entry points of their own, so that a program
// that does not use them loads none of it: `import * as Database from "rain/Database"`
// (needs @effect/sql and a driver), `import * as Meta from "rain/Meta"` (needs
// @effect/platform and @effect/platform-node), `import { Control, Gateway } from "rain/Rpc"`,
// `import * as Telemetry from "rain/Telemetry"`.
