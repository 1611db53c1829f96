/**
 * Events and process groups across two nodes (both in this one OS process for a one-command
 * demo; they still talk over TCP on 127.0.0.1):
 *
 * - a producer on `market` registers the event "prices" with a buffer of its last 2
 *   publications; a watcher on `desk` monitors it from the other node, gets the buffer, then
 *   each price, then `EventDown` when the producer stops;
 * - workers on both nodes join the group "pricers"; each node sees all of them, and the
 *   desk's members leave the market's view when the desk disconnects.
 *
 *   npx tsx examples/events.ts
 */
import { Deferred, Effect, Schedule } from "effect"
import type { Process as P } from "rain"
import { Event, Group, Node, Process } from "rain"

const Producer = Process.make({
  name: "Producer",
  init: (_: void, ctx) => Event.register(ctx, "prices", { buffer: 2 }),
  handleMessage: (msg: number | "stop", token, ctx) =>
    msg === "stop" ? Effect.as(ctx.stop(), token) : Effect.as(Event.publish(ctx, token, msg), token)
})

const Watcher = Process.make({
  name: "Watcher",
  init: (done: Deferred.Deferred<void>, ctx) =>
    Effect.gen(function*() {
      const buffered = yield* Event.monitor(ctx, Event.name("prices", "market@127.0.0.1"))
      yield* Effect.log(`watcher on ${ctx.node}: buffered ${buffered.map((m) => m.message).join(", ")}`)
      return done
    }),
  handleMessage: (msg: Event.EventMessage | Event.EventDown, done) =>
    msg._tag === "EventMessage"
      ? Effect.as(Effect.log(`watcher: price ${msg.message}`), done)
      : Effect.log(`watcher: ${msg.event.name} is down (${msg.reason._tag})`).pipe(
        Effect.zipRight(Deferred.succeed(done, undefined)),
        Effect.as(done)
      )
})

const Pricer = Process.make({
  name: "Pricer",
  init: (_: void, ctx) => Group.join(ctx, "pricers", ctx.self)
})

const onNode = (pids: ReadonlyArray<P.Pid>, node: string) => pids.filter((p) => p.node === node).length

/** Polls a group until `ok` holds (memberships converge across nodes in a round trip or two). */
const until = (read: Effect.Effect<ReadonlyArray<P.Pid>, unknown>, ok: (pids: ReadonlyArray<P.Pid>) => boolean) =>
  read.pipe(
    Effect.filterOrFail(ok, () => "not yet"),
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("5 seconds")))
  )

Node.runMain("market@127.0.0.1", { network: { cookie: "demo", port: 0 } }, (market) =>
  Effect.gen(function*() {
    const desk = yield* Node.start("desk@127.0.0.1", {
      network: { cookie: "demo", routes: { "market@127.0.0.1": `127.0.0.1:${market.port}` } }
    })
    yield* desk.connect("market@127.0.0.1")

    // events
    const producer = yield* market.spawn(Producer, undefined)
    for (const price of [101, 102, 103]) yield* market.send(producer, price)
    yield* Effect.sleep("50 millis") // let the producer publish before the watcher subscribes
    const done = yield* Deferred.make<void>()
    yield* desk.spawn(Watcher, done)
    for (const price of [104, 105]) yield* market.send(producer, price)
    yield* market.send(producer, "stop")
    yield* Deferred.await(done)

    // process groups
    yield* Group.start(market)
    yield* Group.start(desk)
    yield* market.spawn(Pricer, undefined)
    yield* desk.spawn(Pricer, undefined)
    yield* desk.spawn(Pricer, undefined)
    const all = yield* until(Group.members(market, "pricers"), (pids) => pids.length === 3)
    yield* Effect.log(`market sees ${all.length} pricers: ${onNode(all, "desk@127.0.0.1")} on the desk`)
    yield* desk.disconnect("market@127.0.0.1")
    const left = yield* until(Group.members(market, "pricers"), (pids) => onNode(pids, "desk@127.0.0.1") === 0)
    yield* Effect.log(`after the desk disconnects, market sees ${left.length} pricer(s)`)
    yield* market.stop
  }))
