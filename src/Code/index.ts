/**
 * Hot code loading (Erlang's `code` module, hence the name): load a new version of a
 * module from disk while the node runs, and a development watch mode that reloads changed
 * behaviour modules and upgrades the processes running them. The upgrade itself is
 * `node.upgrade` / `Node.upgrade` (OTP's release handling for a behaviour: suspend,
 * `codeChange`, swap, resume; all or nothing) and `node.upgradeApplication`.
 *
 * A behaviour declares its `version` and, to migrate the state of processes running an
 * older version, `codeChange(oldVersion, state, extra)`.
 *
 * The ES module cache: an ES module cannot be unloaded, so each `load` of a file keeps one
 * more module record (its code and top-level values) alive for the life of the OS process.
 * That is fine for development and for the occasional upgrade; a program that reloads a
 * module thousands of times grows by that much (restart it, as an Erlang node keeps only
 * two versions of a module and a JS runtime cannot drop one).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Code, Node, Process } from "rain"
 *
 * const program = Effect.gen(function*() {
 *   const node = yield* Node.Node
 *   const next = yield* Code.load("./counter.js")      // a fresh copy of the module
 *   yield* node.upgrade("Counter", next["Counter"] as Process.Any, { reason: "fix" })
 * })
 * ```
 * @since 0.2.0
 */
import type { Duration, Scope } from "effect"
import { Effect } from "effect"
import { Node } from "../Node/Service.js"
import type { LoadFailed } from "./errors.js"
import * as internalLoad from "./internal/load.js"
import * as internalWatch from "./internal/watch.js"

export {
  /**
   * Re-exported from `./errors`.
   *
   * @since 0.2.0
   * @category errors
   */
  ApplicationNotRunning,
  /**
   * Re-exported from `./errors`.
   *
   * @since 0.2.0
   * @category errors
   */
  InvalidBehaviour,
  /**
   * Re-exported from `./errors`.
   *
   * @since 0.2.0
   * @category errors
   */
  LoadFailed,
  /**
   * Re-exported from `./errors`.
   *
   * @since 0.2.0
   * @category errors
   */
  UpgradeFailed,
  /**
   * Re-exported from `./errors`.
   *
   * @since 0.2.0
   * @category errors
   */
  UpgradeFailure
} from "./errors.js"
export type {
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category models
   */
  ApplicationUpgradeReport,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category models
   */
  UpgradeOptions,
  /**
   * Re-exported from `./types`.
   *
   * @since 0.2.0
   * @category models
   */
  UpgradeReport
} from "./types.js"

/**
 * Imports the current version of a module from disk, under a URL of its own (a query
 * string), so that a file rewritten since the last load is read and evaluated again; returns
 * its exports. Each load stays in the ES module cache (see the module's notes). Under `tsx`
 * a `.ts` file loads too; plain Node needs `.js`/`.mjs`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Code } from "rain"
 *
 * const counter = Code.load("./behaviours/counter.js").pipe(Effect.map((module) => module["Counter"]))
 * ```
 * @since 0.2.0
 * @category loading
 */
export const load: (path: string) => Effect.Effect<Record<string, unknown>, LoadFailed> = internalLoad.load

/**
 * What one reload of a watched file did: per exported behaviour, the upgrade's report or
 * why it failed; or why the module could not be loaded.
 *
 * @since 0.2.0
 * @category watching
 */
export type ReloadEvent = internalWatch.ReloadEvent

/**
 * Options of `watch`.
 *
 * @since 0.2.0
 * @category watching
 */
export interface WatchOptions {
  /** The directory of behaviour modules to watch. */
  readonly dir: string
  /** How long a file must stay unchanged before it is reloaded. Default 100 ms. */
  readonly debounce?: Duration.DurationInput | undefined
  /** Which files are modules. Default `.js`, `.mjs`, `.ts`, `.mts`. */
  readonly extensions?: ReadonlyArray<string> | undefined
  /** Watch subdirectories too (`fs.watch`'s `recursive`). Default false. */
  readonly recursive?: boolean | undefined
  /** The upgrade's timeout (see `UpgradeOptions`). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Passed to `codeChange` as `extra`. */
  readonly extra?: unknown
  /** Runs after each reload (tests and tools wait on it). */
  readonly onReload?: ((event: ReloadEvent) => Effect.Effect<void>) | undefined
}

/**
 * Development watch mode: watches a directory (`node:fs.watch`); when a module changes
 * (debounced), loads it again and, for each behaviour it exports, upgrades the processes
 * of the node running the previous version (the previous load of that export, else any
 * behaviour of the same name), logging what was upgraded. A module that fails to load or
 * a failed upgrade is logged and leaves the old code running. Stops with its scope.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Code, Node } from "rain"
 *
 * const dev = Effect.scoped(Effect.gen(function*() {
 *   yield* Code.watch({ dir: "./src/behaviours" })
 *   yield* Effect.never
 * })).pipe(Effect.provide(Node.layer("dev@localhost")))
 * ```
 * @since 0.2.0
 * @category watching
 */
export const watch = (options: WatchOptions): Effect.Effect<void, LoadFailed, Node | Scope.Scope> =>
  Effect.flatMap(Node, (node) => internalWatch.watch(node, options))
