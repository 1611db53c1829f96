/**
 * Rain: Erlang/OTP-style actors for TypeScript on Effect.
 *
 * @since 0.1.0
 */
export * as Node from "./Node/index.js"
export * as Process from "./Process/index.js"
export * as Registry from "./Registry/index.js"
export * as Registrar from "./Registry/Registrar.js"
export * as Testing from "./Testing/index.js"
export * as Supervisor from "./Supervisor/index.js"
export * as Application from "./Application/index.js"
export * as Message from "./Message/index.js"
export * as Transport from "./Transport/index.js"
export * as StateMachine from "./StateMachine/index.js"
export * as Cron from "./Cron/index.js"
export * as Database from "./Database/index.js"
