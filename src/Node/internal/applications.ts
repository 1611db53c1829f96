/**
 * The applications part of a node: those given to `Node.start` (in dependency order,
 * stopping the node if one fails) and those another node asks this one to start
 * (`network.allowApplications`). It calls the Application module's public start path
 * directly; Supervisor and Application take the node's tag from `Service.ts`, so there is
 * no import cycle to break with a hook installed at import time.
 *
 * @internal
 */
import type { Runtime } from "effect"
import { Effect, Runtime as R } from "effect"
import * as Application from "../../Application/index.js"
import type { ApplicationStartError, NodeService } from "../index.js"

/** Starts applications on a node in dependency order. */
export const startApplications = (
  node: NodeService,
  applications: ReadonlyArray<Application.Spec>
): Effect.Effect<void, ApplicationStartError> =>
  Effect.flatMap(
    Application.startOrder(applications),
    (ordered) => Effect.forEach(ordered, (app) => Application.start(node, app), { discard: true })
  )

/** How distribution starts an allowed application another node asked for: undefined, or why not. */
export const remoteStarter = (node: NodeService, runtime: Runtime.Runtime<any>) =>
(spec: Application.Spec): Promise<string | undefined> =>
  R.runPromise(runtime)(
    startApplications(node, [spec]).pipe(
      Effect.as(undefined),
      Effect.catchAll((error) => Effect.succeed(`${error._tag}: ${error.message}`))
    )
  )
