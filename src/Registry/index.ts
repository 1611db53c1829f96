/**
 * The node-local name registry: a name belongs to at most one live process and is
 * released when it exits. Register from inside a process with `ctx.register`, or at
 * spawn time with `{ name }` (atomic with the spawn).
 *
 * @since 0.1.0
 */
import type { Effect, Option } from "effect"
import { Effect as E } from "effect"
import { Node } from "../Node/Service.js"
import type { AlreadyRegistered, CallError, NameTaken } from "../Process/errors.js"
import type { Pid } from "../Process/Pid.js"

/**
 * The pid registered under `name` on the node in context.
 *
 * @since 0.1.0
 */
export const whereis = (name: string): Effect.Effect<Option.Option<Pid>, never, Node> =>
  E.flatMap(Node, (node) => node.whereis(name))

/**
 * Registers a live process under `name`.
 *
 * @since 0.1.0
 */
export const register = (name: string, pid: Pid): Effect.Effect<void, NameTaken | AlreadyRegistered | CallError, Node> =>
  E.flatMap(Node, (node) => node.register(name, pid))

/**
 * Releases `name`; false if it was not registered.
 *
 * @since 0.1.0
 */
export const unregister = (name: string): Effect.Effect<boolean, never, Node> =>
  E.flatMap(Node, (node) => node.unregister(name))

/**
 * Every registered name on the node.
 *
 * @since 0.1.0
 */
export const registered: Effect.Effect<ReadonlyArray<string>, never, Node> = E.flatMap(Node, (node) => node.registered)
