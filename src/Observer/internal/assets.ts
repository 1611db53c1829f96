/**
 * The frontend's files. An installed package serves the bundle `npm run build` wrote
 * (`dist/Observer/assets/`); from the sources (tests, `tsx`, a fresh clone) the observer
 * bundles `src/Observer/frontend/app.ts` with esbuild's API when it starts, in memory.
 * Either way uPlot is inside the bundle: the page fetches nothing from elsewhere.
 *
 * @internal
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"

export interface Assets {
  readonly js: string
  readonly css: string
}

/** The esbuild options `npm run build` uses too (see package.json "build:observer"). */
export const bundleOptions = {
  bundle: true,
  minify: true,
  format: "iife" as const,
  target: "es2020",
  entryNames: "observer",
  legalComments: "none" as const
}

const built = (): Assets | undefined => {
  const dir = fileURLToPath(new URL("../assets/", import.meta.url))
  try {
    return {
      js: fs.readFileSync(`${dir}observer.js`, "utf8"),
      css: fs.readFileSync(`${dir}observer.css`, "utf8")
    }
  } catch {
    return undefined
  }
}

const bundle = Effect.tryPromise({
  try: async () => {
    const entry = fileURLToPath(new URL("../frontend/app.ts", import.meta.url))
    if (!fs.existsSync(entry)) throw new Error(`neither a built bundle nor the frontend sources (${entry}) are here`)
    // esbuild is a development dependency: only the sources need it
    const esbuild = await import("esbuild")
    const result = await esbuild.build({ ...bundleOptions, entryPoints: [entry], outdir: "out", write: false })
    const find = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? ""
    return { js: find(".js"), css: find(".css") }
  },
  catch: (e) => `cannot bundle the observer's frontend: ${e instanceof Error ? e.message : String(e)}`
})

let cached: Assets | undefined = undefined

/** The frontend, built once per OS process. */
export const load: Effect.Effect<Assets, string> = Effect.suspend(() => {
  if (cached !== undefined) return Effect.succeed(cached)
  const found = built()
  if (found !== undefined) {
    cached = found
    return Effect.succeed(found)
  }
  return Effect.tap(bundle, (assets) => Effect.sync(() => (cached = assets)))
})
