/**
 * The development watch mode: `node:fs.watch` on a directory; a changed module (debounced
 * per file, since editors write a file in several events) is loaded again under a fresh
 * URL and each behaviour it exports upgrades the processes running the version before
 * (the one this watcher loaded last from that file and export, else any behaviour of the
 * same name, which is how processes started from a static `import` are found). Reloads
 * run one at a time; a failure is logged and the watcher goes on.
 *
 * @internal
 */
import * as fs from "node:fs"
import * as path from "node:path"
import type { Scope } from "effect"
import { Duration as D, Effect, Runtime } from "effect"
import type { NodeService } from "../../Node/index.js"
import { kernelOf } from "../../Node/internal/kernel.js"
import type { Behaviour } from "../../Process/Behaviour.js"
import type { InvalidBehaviour, UpgradeFailed } from "../errors.js"
import { LoadFailed } from "../errors.js"
import type { UpgradeReport } from "../types.js"
import type { WatchOptions as PublicWatchOptions } from "../index.js"
import { load } from "./load.js"
import { checkBehaviour, upgrade } from "./upgrade.js"

type AnyBehaviour = Behaviour<any, any, any, any, any, any>

/** What one reload of one file did. */
export interface ReloadEvent {
  readonly path: string
  /** One entry per behaviour the module exports: its export name and the upgrade's outcome. */
  readonly upgrades: ReadonlyArray<{
    readonly export: string
    readonly behaviour: string
    readonly result: UpgradeReport | UpgradeFailed | InvalidBehaviour
  }>
  /** The module could not be loaded (nothing was upgraded). */
  readonly error: LoadFailed | undefined
}

/** The options of `Code.watch` (the public type, documented there). */
export type WatchOptions = PublicWatchOptions

const defaultExtensions = [".js", ".mjs", ".ts", ".mts"]

const isBehaviour = (value: unknown): value is AnyBehaviour => checkBehaviour(value, "export") === undefined

export const watch = (node: NodeService, options: WatchOptions): Effect.Effect<void, LoadFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const given: unknown = typeof options === "object" && options !== null ? options.dir : options
    if (typeof given !== "string" || given.length === 0) {
      return yield* Effect.fail(
        new LoadFailed({ path: String(given), detail: "Code.watch needs { dir: the directory of the modules to watch }" })
      )
    }
    const dir = path.resolve(given)
    let stat: fs.Stats | undefined
    try {
      stat = fs.statSync(dir)
    } catch {
      stat = undefined
    }
    if (stat === undefined || !stat.isDirectory()) {
      return yield* Effect.fail(new LoadFailed({ path: dir, detail: "not a directory to watch" }))
    }
    const kernel = kernelOf(node)
    const runtime = kernel.options.runtime as Runtime.Runtime<never>
    const debounce = D.toMillis(options.debounce ?? D.millis(100))
    const extensions = options.extensions ?? defaultExtensions
    /** The behaviours this watcher loaded last, by file and export name. */
    const loaded = new Map<string, Map<string, AnyBehaviour>>()
    const timers = new Map<string, NodeJS.Timeout>()
    const lock = yield* Effect.makeSemaphore(1)

    const reload = (file: string): Effect.Effect<void> =>
      lock.withPermits(1)(Effect.gen(function*() {
        if (!fs.existsSync(file)) return
        const exports = yield* Effect.either(load(file))
        if (exports._tag === "Left") {
          yield* Effect.logWarning(`code watch: ${exports.left.message}`)
          if (options.onReload) yield* options.onReload({ path: file, upgrades: [], error: exports.left })
          return
        }
        const before = loaded.get(file) ?? new Map<string, AnyBehaviour>()
        const now = new Map<string, AnyBehaviour>()
        const upgrades: Array<ReloadEvent["upgrades"][number]> = []
        for (const [key, value] of Object.entries(exports.right)) {
          if (!isBehaviour(value)) continue
          now.set(key, value)
          const from = before.get(key) ?? value.name
          const result = yield* Effect.either(upgrade(kernel, [{ from, to: value }], options.extra, options.timeout))
          const outcome = result._tag === "Right" ? result.right : result.left
          upgrades.push({ export: key, behaviour: value.name, result: outcome })
          if (result._tag === "Right") {
            yield* Effect.logInfo(
              `code watch: ${path.relative(dir, file)} reloaded: ${key} (${value.name}) upgraded ` +
                `${result.right.upgraded.length} process(es)`
            )
          } else {
            yield* Effect.logWarning(`code watch: ${path.relative(dir, file)}: ${key} not upgraded: ${result.left.message}`)
          }
        }
        loaded.set(file, now)
        if (options.onReload) yield* options.onReload({ path: file, upgrades, error: undefined })
      })).pipe(Effect.annotateLogs({ node: kernel.name }))

    const changed = (name: string | null) => {
      if (name === null || !extensions.includes(path.extname(name))) return
      const file = path.join(dir, name)
      const pending = timers.get(file)
      if (pending !== undefined) clearTimeout(pending)
      timers.set(
        file,
        setTimeout(() => {
          timers.delete(file)
          Runtime.runFork(runtime)(reload(file))
        }, debounce)
      )
    }

    yield* Effect.acquireRelease(
      Effect.try({
        try: () => fs.watch(dir, { recursive: options.recursive ?? false }, (_event, name) => changed(name)),
        catch: (error) => new LoadFailed({ path: dir, detail: `cannot watch: ${String(error)}` })
      }),
      (watcher) =>
        Effect.sync(() => {
          watcher.close()
          for (const timer of timers.values()) clearTimeout(timer)
          timers.clear()
        })
    )
    yield* Effect.logInfo(`code watch: watching ${dir} for changed modules`).pipe(Effect.annotateLogs({ node: kernel.name }))
  })
