/**
 * A pool of 4 workers: calls spread round-robin and answered by the workers directly, a
 * worker crash and its restart, a resize, a saturated pool refusing with `PoolBusy`, and a
 * consistent-hash router sending each user's messages to the same worker.
 *
 *   npx tsx examples/pool.ts
 */
import { Console, Deferred, Effect, Schema } from "effect"
import { Node, Pool, Process, Router } from "rain"

class Square extends Schema.TaggedRequest<Square>()("Square", { failure: Schema.Never, success: Schema.String, payload: { n: Schema.Number } }) {}
class Crash extends Schema.TaggedClass<Crash>()("Crash", {}) {}
class Hold extends Schema.TaggedClass<Hold>()("Hold", {}) {}

const Worker = Process.make({
  name: "Worker",
  init: (gate: Deferred.Deferred<void>) => Effect.succeed(gate),
  handleMessage: (msg: Crash | Hold, gate) => msg._tag === "Crash" ? Effect.fail("asked to crash") : Effect.as(Deferred.await(gate), gate),
  handleCall: (req: Square, _from, gate, ctx) => Effect.succeed(Process.reply(`${req.n}² = ${req.n * req.n} (by ${ctx.self})`, gate))
})

Node.runMain("pool@localhost", { log: { crashReports: false } }, (node) =>
  Effect.gen(function*() {
    const gate = yield* Deferred.make<void>()
    const pool = yield* node.spawn(
      Pool.make({ worker: Worker, args: gate, size: 4, workerMailboxSize: 2, overflow: "reject" }),
      undefined,
      { name: "squares" }
    )
    for (let n = 1; n <= 4; n++) yield* Console.log(yield* Pool.call(node, pool, new Square({ n })))

    yield* node.send(pool, new Crash()) // the next worker in turn crashes; the pool restarts it
    yield* Effect.sleep("20 millis")
    const stats = yield* Pool.stats(node, pool)
    yield* Console.log(`after a crash: ${stats.size} workers, ${stats.restarts} restart`)

    yield* Pool.resize(node, pool, 2)
    yield* Console.log(`resized to ${(yield* Pool.stats(node, pool)).size} workers`)

    // hold both workers and fill their mailboxes (2 each): the pool refuses the next call
    yield* node.send(pool, new Hold())
    yield* node.send(pool, new Hold())
    yield* Effect.sleep("20 millis") // each worker now runs a Hold
    for (let i = 0; i < 4; i++) yield* node.send(pool, new Hold())
    const busy = yield* Effect.flip(Pool.call(node, pool, new Square({ n: 5 })))
    yield* Console.log(`saturated: ${busy._tag}`)
    yield* Deferred.succeed(gate, undefined)
    yield* Effect.sleep("20 millis")
    yield* Console.log(yield* Pool.call(node, pool, new Square({ n: 5 })))

    // consistent hashing over the workers: a user's requests always reach the same one
    const workers = (yield* Pool.stats(node, pool)).workers
    const byUser = yield* Router.make<Square, Square>(Router.consistentHashing({ key: (req: Square) => `user-${req.n % 3}` }), workers)
    for (const n of [3, 6, 9]) yield* Console.log(`user-0: ${yield* Router.call(node, byUser, new Square({ n }))}`)
    yield* node.stop
  }))
