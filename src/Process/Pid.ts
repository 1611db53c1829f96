/**
 * Process identifiers: `Pid`, unique `Reference`s, `Alias`es and registered names.
 * All are Schema classes so that they can cross the wire inside messages.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A process identifier, unique per node incarnation. `creation` changes each time a
 * node with the same name starts again, so a pid of a previous incarnation never
 * reaches a process of the new one.
 *
 * @since 0.1.0
 */
export class Pid extends Schema.Class<Pid>("rain/Process/Pid")({
  node: Schema.String,
  id: Schema.Number,
  creation: Schema.Number
}) {
  /**
   * Erlang-style rendering: `<node.id.creation>`.
   *
   * @since 0.1.0
   */
  override toString(): string {
    return `<${this.node}.${this.id}.${this.creation}>`
  }
}

/**
 * A typed process reference: a `Pid` that remembers, at the type level only, which
 * plain messages (`M`) and requests (`Q`) the process accepts, so that `send` and
 * `call` are checked by the compiler. At run time it is the same `Pid` value.
 *
 * @since 0.1.0
 */
export type Ref<M = unknown, Q = never> = Pid & {
  // Wrapped in tuples so that `any` fits a `never` protocol (a plain `never` rejects `any`).
  readonly "~protocol"?: { readonly message: readonly [M]; readonly request: readonly [Q] }
}

/**
 * A node-unique reference, like Erlang's `make_ref()`: names monitors, calls and timers.
 *
 * @since 0.1.0
 */
export class Reference extends Schema.Class<Reference>("rain/Process/Reference")({
  node: Schema.String,
  id: Schema.Number,
  creation: Schema.Number
}) {
  /**
   * Erlang-style rendering.
   *
   * @since 0.1.0
   */
  override toString(): string {
    return `#Ref<${this.node}.${this.id}.${this.creation}>`
  }
}

/**
 * A temporary address of a process (Erlang's `alias/0`): messages sent to it reach the
 * process until it calls `unalias`, after which they are dropped silently.
 *
 * @since 0.1.0
 */
export class Alias extends Schema.Class<Alias>("rain/Process/Alias")({
  node: Schema.String,
  id: Schema.Number,
  creation: Schema.Number
}) {
  /**
   * Erlang-style rendering.
   *
   * @since 0.1.0
   */
  override toString(): string {
    return `#Alias<${this.node}.${this.id}.${this.creation}>`
  }
}

/**
 * A registered name, possibly on another node: `{ name, node }` in Erlang.
 * Build one with {@link name}.
 *
 * @since 0.1.0
 */
export class Name extends Schema.Class<Name>("rain/Process/Name")({
  name: Schema.String,
  node: Schema.String
}) {
  /**
   * Erlang-style rendering.
   *
   * @since 0.1.0
   */
  override toString(): string {
    return `${this.name}@{${this.node}}`
  }
}

/**
 * Where a message can be sent: a pid, an alias, a registered name on the local node
 * (a plain string) or a `Name` on any node.
 *
 * @since 0.1.0
 */
export type Address<M = unknown, Q = never> = Ref<M, Q> | Alias | Name | string

/**
 * Builds a `{ name, node }` address.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Process } from "rain"
 *
 * class Put extends Schema.TaggedClass<Put>()("Put", { key: Schema.String, value: Schema.Number }) {}
 *
 * const Writer = Process.make({
 *   name: "Writer",
 *   init: (_: void, ctx) => ctx.send(Process.name("kv", "b@localhost"), new Put({ key: "a", value: 1 }))
 * })
 * ```
 * @since 0.1.0
 */
export const name = (name: string, node: string): Name => new Name({ name, node }, true)

/** @since 0.1.0 */
export const isPid = (u: unknown): u is Pid => u instanceof Pid

/** @since 0.1.0 */
export const isAlias = (u: unknown): u is Alias => u instanceof Alias

/** @since 0.1.0 */
export const isName = (u: unknown): u is Name => u instanceof Name

/**
 * Builds an identifier without running the Schema class constructor (about 0.4µs even
 * without validation): spawn and call are hot paths. The result is an ordinary instance
 * of the class (same prototype, same own fields), so equality, `instanceof` and Schema
 * encoding are unchanged.
 *
 * @internal
 */
export const unsafeMake = <C extends typeof Pid | typeof Reference | typeof Alias>(
  klass: C,
  node: string,
  id: number,
  creation: number
): InstanceType<C> => {
  const self = Object.create(klass.prototype)
  self.node = node
  self.id = id
  self.creation = creation
  return self
}
