// Code of docs/guides/performance-tuning.md (type-checked by `npm run typecheck`).
import { Effect } from "effect"
import { Node, Process } from "rain"

// Built once: the handler is a top-level function returning a synchronous Effect
export const Fast = Process.make({
  name: "Fast",
  init: () => Effect.succeed(0),
  handleMessage: (n: number, total) => Effect.succeed(total + n)
})

// Built once as well, with a generator: Effect.fnUntraced makes the function once
const onMessage = Effect.fnUntraced(function*(n: number, total: number) {
  const doubled = yield* Effect.sync(() => n * 2)
  return total + doubled
})
export const AlsoFast = Process.make({
  name: "AlsoFast",
  init: () => Effect.succeed(0),
  handleMessage: onMessage
})

// Bounded mailboxes: ctx.send and node.trySend fail with MailboxFull, node.send waits for room
export const bounded = Node.start("bounded@localhost", { process: { mailboxSize: 10_000 } })
export const boundedOne = Effect.flatMap(bounded, (node) => node.spawn(Fast, undefined, { mailboxSize: 1_000 }))
