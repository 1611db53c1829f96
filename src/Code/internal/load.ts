/**
 * Loading a new version of a module from disk: an ES module is cached by URL for the life
 * of the OS process, so each load imports the file under a URL of its own (a query string
 * with a counter). Nothing can unload the versions before: each load keeps one more module
 * record alive (see the Code module's notes).
 *
 * @internal
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { Effect } from "effect"
import { LoadFailed } from "../errors.js"

let loads = 0

/** How many times `load` imported a module in this OS process (each one stays in the module cache). */
export const loadCount = (): number => loads

export const load = (file: string): Effect.Effect<Record<string, unknown>, LoadFailed> =>
  Effect.suspend(() => {
    if (typeof file !== "string" || file === "") {
      return Effect.fail(
        new LoadFailed({ path: String(file), detail: file === "" ? "the path is empty" : "the path is not a string" })
      )
    }
    const absolute = path.resolve(file)
    let stat: fs.Stats
    try {
      stat = fs.statSync(absolute)
    } catch {
      return Effect.fail(new LoadFailed({ path: absolute, detail: "no such file" }))
    }
    if (!stat.isFile()) return Effect.fail(new LoadFailed({ path: absolute, detail: "not a file" }))
    // The modification time and a counter: a fresh URL per load, so the file is read again.
    const url = `${pathToFileURL(absolute).href}?rain-load=${++loads}-${Math.round(stat.mtimeMs)}`
    return Effect.tryPromise({
      try: () => import(/* @vite-ignore */ url) as Promise<Record<string, unknown>>,
      catch: (error) => new LoadFailed({ path: absolute, detail: describe(error) })
    })
  })

/** The first line of what a failed import threw (an Error from another realm, or a loader's plain object). */
const describe = (error: unknown): string => {
  const message = typeof error === "object" && error !== null && "message" in error ? (error as { message: unknown }).message : error
  const text = typeof message === "string" ? message : String(message)
  return (text.split("\n")[0] ?? "").replace(/\.+$/, "") || "the import failed"
}
