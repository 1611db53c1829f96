/**
 * The module the cluster patterns test runs in every thread node: the default group scope
 * with two `Member`s of "workers", and a producer "ticker" of the event "ticks" (buffer 2)
 * that publishes each `PublishRange` it gets.
 */
import { Effect } from "effect"
import * as Cluster from "../../src/Cluster/index.js"
import * as Group from "../../src/Group/index.js"
import { eventMessages, Producer } from "../fixtures/events.js"
import { Member } from "../fixtures/groups.js"

export default Cluster.define({
  messages: eventMessages,
  main: (node) =>
    Effect.gen(function*() {
      yield* Group.start(node)
      for (let i = 0; i < 2; i++) yield* node.spawn(Member, { group: "workers" })
      yield* node.spawn(Producer, { name: "ticks", buffer: 2 }, { name: "ticker" })
    })
})
