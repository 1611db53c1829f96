/** A cluster module whose application fails to start: the cluster must not start. */
import { Effect } from "effect"
import * as Application from "../../src/Application/index.js"
import * as Cluster from "../../src/Cluster/index.js"
import * as Process from "../../src/Process/index.js"

const Broken = Process.make({
  name: "Broken",
  init: () => Effect.fail("this application cannot start"),
  handleMessage: (_: never, s: undefined) => Effect.succeed(s)
})

export default Cluster.define({
  applications: [Application.make({ name: "broken", version: "1.0.0", root: [{ id: "broken", behaviour: Broken, args: undefined }] })]
})
