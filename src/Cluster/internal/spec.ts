/**
 * Loading and checking the module a cluster's nodes run, in the main thread (to fail fast,
 * with one clear error, before any thread starts) and in each thread.
 *
 * @internal
 */
import type { Spec as ApplicationSpec } from "../../Application/index.js"
import type { WireClass } from "../../Message/internal/codec.js"
import type { SpawnableBehaviour } from "../../Node/NetworkOptions.js"
import type { NodeService } from "../../Node/index.js"
import type { Effect, Scope } from "effect"

/** What a cluster module's default export is (see `Cluster.NodeSpec`). */
export interface NodeSpec {
  readonly applications?: ReadonlyArray<ApplicationSpec> | undefined
  readonly allowSpawn?: ReadonlyArray<SpawnableBehaviour> | undefined
  readonly allowApplications?: ReadonlyArray<ApplicationSpec> | undefined
  readonly messages?: ReadonlyArray<WireClass> | undefined
  readonly main?: ((node: NodeService) => Effect.Effect<unknown, unknown, Scope.Scope>) | undefined
}

const isArrayOrUndefined = (u: unknown): boolean => u === undefined || Array.isArray(u)

/** The module's `NodeSpec`, or what is wrong with it. */
export const load = async (url: string): Promise<{ readonly spec: NodeSpec } | { readonly error: string }> => {
  let mod: any
  try {
    mod = await import(url)
  } catch (e) {
    return { error: `could not import ${url}: ${e instanceof Error ? e.message : String(e)}` }
  }
  const spec = mod?.default
  if (typeof spec !== "object" || spec === null) {
    return { error: `${url} has no default export: export default Cluster.define({ applications, allowSpawn, messages })` }
  }
  for (const key of ["applications", "allowSpawn", "allowApplications", "messages"] as const) {
    if (!isArrayOrUndefined(spec[key])) return { error: `${url}: the default export's ${key} must be an array` }
  }
  if (spec.main !== undefined && typeof spec.main !== "function") {
    return { error: `${url}: the default export's main must be a function (node) => Effect` }
  }
  return { spec: spec as NodeSpec }
}
