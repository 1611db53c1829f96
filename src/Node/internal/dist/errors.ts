/**
 * Tagged errors of distribution.
 *
 * @internal
 */
import { Schema } from "effect"

/**
 * A remote node refused to spawn a behaviour or start an application (not in its
 * `network.allowSpawn` / `network.allowApplications`), or it failed there.
 *
 * @since 0.1.0
 */
export class SpawnRefused extends Schema.TaggedError<SpawnRefused>()("SpawnRefused", {
  node: Schema.String,
  behaviour: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `Node ${this.node} did not start ${this.behaviour}: ${this.reason}. A node starts for others only the behaviours in its network.allowSpawn and the applications in its network.allowApplications.`
  }
}

/**
 * A network operation was asked of a node started without `network` options.
 *
 * @since 0.1.0
 */
export class NotDistributed extends Schema.TaggedError<NotDistributed>()("NotDistributed", {
  node: Schema.String
}) {
  override get message(): string {
    return `Node ${this.node} was started without network options: pass { network: { cookie, ... } } to Node.start.`
  }
}
