import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import { Event, Process } from "../../src/index.js"
import type { Process as P } from "../../src/index.js"
import * as Testing from "../testing.js"
import { cluster, messages } from "../fixtures/dist.js"
import { Doer, eventMessages, Producer, PublishRange, Seen, Subscriber } from "../fixtures/events.js"
import { eventually } from "../Process/helpers.js"

const isTagged = (tag: string) => (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && tag in u

/** Runs `f` in a fresh process of `env`'s node and returns its outcome. */
const run = <A, E>(env: Testing.TestEnv, f: (ctx: P.Context<any, any>) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const doer = yield* env.spawn(Doer, env.probe)
    yield* env.send(doer, f as never)
    return (yield* env.receiveMatching(Either.isEither, "5 seconds")) as Either.Either<A, E>
  })

const relayInfo = (env: Testing.TestEnv) =>
  Effect.gen(function*() {
    const relay = yield* env.node.whereis("rain/event")
    assert.isTrue(relay._tag === "Some", "the node runs an event relay")
    const info = yield* env.node.info(relay._tag === "Some" ? relay.value : env.probe)
    return info._tag === "Some" ? info.value : undefined
  })

describe("Event on one node", () => {
  it.scopedLive("a monitor gets the buffer, then each publication in order, then EventDown with the producer's reason", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { level: "None" } })
      const producer = yield* env.spawn(Producer, { name: "numbers", buffer: 3 })
      const early = yield* env.spawn(Subscriber, { event: "numbers", kind: "monitor", forward: env.probe })
      assert.deepStrictEqual(yield* env.receiveMatching(isTagged("buffer"), "5 seconds"), { buffer: [] })
      for (const n of [1, 2, 3, 4, 5]) yield* env.send(producer, n)
      for (const n of [1, 2, 3, 4, 5]) assert.deepStrictEqual(yield* env.receive("5 seconds"), { got: n })
      yield* env.node.exit(early, Process.ExitReason.kill)
      const sub = yield* env.spawn(Subscriber, { event: "numbers", kind: "monitor", forward: env.probe })
      // only the last three: the buffer keeps 3
      assert.deepStrictEqual(yield* env.receiveMatching(isTagged("buffer"), "5 seconds"), { buffer: [3, 4, 5] })
      yield* env.send(producer, 6)
      yield* env.send(producer, 7)
      assert.deepStrictEqual(yield* env.receive("5 seconds"), { got: 6 })
      assert.deepStrictEqual(yield* env.receive("5 seconds"), { got: 7 })
      yield* env.send(producer, "crash")
      assert.deepStrictEqual(yield* env.receiveMatching(isTagged("down"), "5 seconds"), { down: "error", event: "numbers" })
      // the subscriber lives on (a monitor), and the name is free again
      assert.isTrue((yield* env.node.info(sub))._tag === "Some")
      const again = yield* env.spawn(Producer, { name: "numbers" })
      assert.isTrue((yield* env.node.info(again))._tag === "Some")
    }))

  it.scopedLive("publications made just before the producer ends reach subscribers before EventDown", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { level: "None" } })
      const producer = yield* env.spawn(Producer, { name: "numbers" })
      yield* env.spawn(Subscriber, { event: "numbers", kind: "monitor", forward: env.probe })
      yield* env.receiveMatching(isTagged("buffer"), "5 seconds")
      for (const m of [1, 2, 3, "crash"] as const) yield* env.send(producer, m)
      for (const n of [1, 2, 3]) assert.deepStrictEqual(yield* env.receive("5 seconds"), { got: n })
      assert.deepStrictEqual(yield* env.receive("5 seconds"), { down: "error", event: "numbers" })
    }))

  it.scopedLive("a linked subscriber dies with the producer's reason; one that traps exits gets Exit from the producer", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { level: "None" } })
      const producer = yield* env.spawn(Producer, { name: "numbers" })
      const linked = yield* env.spawn(Subscriber, { event: "numbers", kind: "link" })
      const trapping = yield* env.spawn(Subscriber, { event: "numbers", kind: "link", forward: env.probe }, { trapExit: true })
      yield* env.receiveMatching(isTagged("buffer"), "5 seconds")
      yield* env.send(producer, "crash")
      const reason = yield* env.exitReason(linked)
      assert.strictEqual(reason._tag, "error")
      const exit = yield* env.receiveMatching((u): u is Process.Exit => u instanceof Process.Exit, "5 seconds")
      assert.deepStrictEqual(exit.from, producer)
      assert.strictEqual(exit.reason._tag, "error")
      assert.isTrue((yield* env.node.info(trapping))._tag === "Some")
    }))

  it.scopedLive("unregister ends the event with shutdown; a normal stop does not kill a linked subscriber", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { level: "None" } })
      const p1 = yield* env.spawn(Producer, { name: "numbers" })
      const monitoring = yield* env.spawn(Subscriber, { event: "numbers", kind: "monitor", forward: env.probe })
      yield* env.receiveMatching(isTagged("buffer"), "5 seconds")
      const linked = yield* env.spawn(Subscriber, { event: "numbers", kind: "link" })
      yield* env.send(p1, "unregister")
      assert.deepStrictEqual(yield* env.receiveMatching(isTagged("down"), "5 seconds"), { down: "shutdown", event: "numbers" })
      assert.strictEqual((yield* env.exitReason(linked))._tag, "shutdown")
      // the producer lives on; its old token is refused
      yield* env.send(p1, 1)
      assert.strictEqual((yield* env.exitReason(p1))._tag, "error")
      assert.isTrue((yield* env.node.info(monitoring))._tag === "Some")

      const p2 = yield* env.spawn(Producer, { name: "numbers" })
      const linked2 = yield* env.spawn(Subscriber, { event: "numbers", kind: "link", forward: env.probe })
      yield* env.receiveMatching(isTagged("buffer"), "5 seconds")
      yield* env.send(p2, "stop")
      yield* env.exitReason(p2)
      yield* env.expectNoMessage("200 millis")
      assert.isTrue((yield* env.node.info(linked2))._tag === "Some", "a normal exit signal does not end a linked subscriber")
    }))

  it.scopedLive("bad input: taken name, bad buffer, empty name, stale token, unknown event, a second subscription", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { level: "None" } })
      yield* env.spawn(Producer, { name: "numbers" })
      const taken = yield* run(env, (ctx) => Event.register(ctx, "numbers"))
      assert.strictEqual(Either.isLeft(taken) && (taken.left as any)._tag, "EventTaken")
      assert.include(Either.isLeft(taken) ? (taken.left as Error).message : "", "numbers")
      const buffer = yield* run(env, (ctx) => Event.register(ctx, "other", { buffer: -1 }))
      assert.strictEqual(Either.isLeft(buffer) && (buffer.left as any)._tag, "InvalidEventOption")
      const fraction = yield* run(env, (ctx) => Event.register(ctx, "other", { buffer: 1.5 }))
      assert.strictEqual(Either.isLeft(fraction) && (fraction.left as any)._tag, "InvalidEventOption")
      const empty = yield* run(env, (ctx) => Event.register(ctx, ""))
      assert.strictEqual(Either.isLeft(empty) && (empty.left as any)._tag, "InvalidEventOption")
      const forged = yield* run(env, (ctx) =>
        Event.publish(ctx, new Event.Token({ event: Event.name("numbers", ctx.node), secret: "guess" }), 1))
      assert.strictEqual(Either.isLeft(forged) && (forged.left as any)._tag, "InvalidToken")
      const unknown = yield* run(env, (ctx) => Event.monitor(ctx, "nothing"))
      assert.strictEqual(Either.isLeft(unknown) && (unknown.left as any)._tag, "EventUnknown")
      const twice = yield* run(env, (ctx) => Effect.zipRight(Event.monitor(ctx, "numbers"), Event.link(ctx, "numbers")))
      assert.strictEqual(Either.isLeft(twice) && (twice.left as any)._tag, "AlreadySubscribed")
      const remote = yield* run(env, (ctx) => Event.monitor(ctx, Event.name("numbers", "elsewhere@localhost")))
      assert.strictEqual(Either.isLeft(remote) && (remote.left as any)._tag, "EventUnknown")
      // the relay survived all of it
      assert.isDefined(yield* relayInfo(env))
    }))

  it.scopedLive("bad input from plain JS (a number as event, null token, non-string name) is a typed error; the relay lives", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { level: "None" } })
      yield* env.spawn(Producer, { name: "numbers" })
      const relay = Option.getOrThrow(yield* env.node.whereis("rain/event"))
      const cases: ReadonlyArray<readonly [(ctx: P.Context<any, any>) => Effect.Effect<unknown, unknown>, string, string]> = [
        [(ctx) => Event.monitor(ctx, 42 as any), "InvalidEventOption", "Event option event is 42"],
        [(ctx) => Event.link(ctx, null as any), "InvalidEventOption", "Event option event is null"],
        [(ctx) => Event.demonitor(ctx, undefined as any), "InvalidEventOption", "Event.name(name, node)"],
        [(ctx) => Event.unlink(ctx, "" as any), "InvalidEventOption", "Event option event is \"\""],
        [(ctx) => Event.register(ctx, 42 as any), "InvalidEventOption", "Event option name is 42"],
        [(ctx) => Event.register(ctx, "b", { buffer: "3" as any }), "InvalidEventOption", "buffer is \"3\""],
        [(ctx) => Event.publish(ctx, null as any, 1), "InvalidToken", "not a token: null"],
        [(ctx) => Event.publish(ctx, "token" as any, 1), "InvalidToken", "not a token: \"token\""],
        [(ctx) => Event.unregister(ctx, null as any), "InvalidToken", "not a token: null"]
      ]
      for (const [f, tag, expected] of cases) {
        const result = yield* run(env, f)
        assert.isTrue(Either.isLeft(result), `${expected}: expected a failure`)
        const error = Either.isLeft(result) ? (result.left as Error & { _tag: string }) : undefined
        assert.strictEqual(error?._tag, tag, String(error))
        assert.include(error?.message, expected)
      }
      // the node's relay never crashed: the same process still serves the event
      assert.strictEqual(String(Option.getOrThrow(yield* env.node.whereis("rain/event"))), String(relay))
      yield* env.spawn(Subscriber, { event: "numbers", kind: "monitor", forward: env.probe })
      yield* env.receiveMatching(isTagged("buffer"), "5 seconds")
    }))

  it.scopedLive("the relay's end is each event's end: subscribers hear its reason; a new relay starts on next use", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { level: "None" } })
      const producer = yield* env.spawn(Producer, { name: "numbers" })
      yield* env.spawn(Subscriber, { event: "numbers", kind: "monitor", forward: env.probe })
      yield* env.receiveMatching(isTagged("buffer"), "5 seconds")
      const relay = Option.getOrThrow(yield* env.node.whereis("rain/event"))
      yield* env.node.exit(relay, Process.ExitReason.shutdownWith("maintenance"))
      assert.deepStrictEqual(yield* env.receive("5 seconds"), { down: "shutdown", event: "numbers" })
      // the old token is gone with its relay: publishing with it fails (and crashes this producer)
      yield* env.send(producer, 1)
      assert.strictEqual((yield* env.exitReason(producer))._tag, "error")
      const again = yield* env.spawn(Producer, { name: "numbers" })
      yield* env.spawn(Subscriber, { event: "numbers", kind: "monitor", forward: env.probe })
      assert.deepStrictEqual(yield* env.receiveMatching(isTagged("buffer"), "5 seconds"), { buffer: [] })
      yield* env.send(again, 2)
      assert.deepStrictEqual(yield* env.receive("5 seconds"), { got: 2 })
      assert.notStrictEqual(String(Option.getOrThrow(yield* env.node.whereis("rain/event"))), String(relay))
    }))

  it.scopedLive("demonitor stops publications; a dead subscriber is forgotten", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { level: "None" } })
      const producer = yield* env.spawn(Producer, { name: "numbers" })
      const sub = yield* env.spawn(Subscriber, { event: "numbers", kind: "monitor", forward: env.probe })
      const dying = yield* env.spawn(Subscriber, { event: "numbers", kind: "monitor" })
      yield* env.receiveMatching(isTagged("buffer"), "5 seconds")
      yield* env.send(producer, 1)
      assert.deepStrictEqual(yield* env.receive("5 seconds"), { got: 1 })
      yield* env.node.exit(dying, Process.ExitReason.kill)
      yield* env.exitReason(dying)
      yield* eventually(
        Effect.map(relayInfo(env), (info) => (info?.detail as any)?.subscribers === 1 ? true : undefined),
        "the relay forgets the dead subscriber"
      )
      yield* env.send(sub, "demonitor")
      assert.deepStrictEqual(yield* env.receive("5 seconds"), { done: "demonitor" })
      yield* env.send(producer, 2)
      yield* env.expectNoMessage("200 millis")
      assert.strictEqual(((yield* relayInfo(env))?.detail as any).subscribers, 0)
    }))
})

describe("Event across nodes (TCP on 127.0.0.1)", () => {
  it.scopedLive("notify: the producer hears EventStart at its first subscriber (local or remote) and EventStop after its last", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1", { messages: [...messages, ...eventMessages] })
      const b = yield* make("b@127.0.0.1", { messages: [...messages, ...eventMessages] })
      const isNote = (u: unknown): u is Record<string, string> => isTagged("start")(u) || isTagged("stop")(u)
      yield* a.spawn(Producer, { name: "numbers", notify: true, forward: a.probe })
      const local = yield* a.spawn(Subscriber, { event: "numbers", kind: "monitor" })
      assert.deepStrictEqual(yield* a.receiveMatching(isNote, "5 seconds"), { start: "numbers" })
      const remote = yield* b.spawn(Subscriber, { event: Event.name("numbers", "a@127.0.0.1"), kind: "monitor" })
      yield* a.node.exit(local, Process.ExitReason.kill)
      yield* a.expectNoMessage("300 millis") // b still listens
      yield* b.node.exit(remote, Process.ExitReason.kill)
      assert.deepStrictEqual(yield* a.receiveMatching(isNote, "5 seconds"), { stop: "numbers" })
      // and again, from b alone
      yield* b.spawn(Subscriber, { event: Event.name("numbers", "a@127.0.0.1"), kind: "monitor" })
      assert.deepStrictEqual(yield* a.receiveMatching(isNote, "5 seconds"), { start: "numbers" })
      yield* b.node.disconnect("a@127.0.0.1")
      assert.deepStrictEqual(yield* a.receiveMatching(isNote, "5 seconds"), { stop: "numbers" })
    }), 60_000)


  it.scopedLive("remote subscribers get the buffer and every publication, once per node on the wire; EventDown noconnection when the node goes", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1", { messages: [...messages, ...eventMessages] })
      const b = yield* make("b@127.0.0.1", { messages: [...messages, ...eventMessages] })
      const producer = yield* a.spawn(Producer, { name: "numbers", buffer: 2 })
      yield* a.send(producer, new PublishRange({ from: 1, count: 3 }))
      const event = Event.name("numbers", "a@127.0.0.1")
      const watcher = yield* b.spawn(Subscriber, { event, kind: "monitor", forward: b.probe })
      assert.deepStrictEqual(yield* b.receiveMatching(isTagged("buffer"), "5 seconds"), { buffer: [2, 3] })
      const subscribers = 300
      const subs: Array<P.Ref<any, Seen>> = []
      for (let i = 0; i < subscribers; i++) subs.push(yield* b.spawn(Subscriber, { event, kind: "monitor" }))
      const relayB = yield* b.node.whereis("rain/event")
      const before = (yield* b.node.info(relayB._tag === "Some" ? relayB.value : b.probe))
      const inBefore = before._tag === "Some" ? before.value.messagesIn : -1
      const bytesBefore = (yield* a.node.connections).peers.find((p) => p.node === "b@127.0.0.1")!.bytesOut
      const publications = 50
      yield* a.send(producer, new PublishRange({ from: 100, count: publications }))
      const expectedSum = 2 + 3 + (publications * (200 + publications - 1)) / 2
      for (const sub of [subs[0]!, subs[subscribers - 1]!]) {
        yield* eventually(
          Effect.map(Effect.orDie(b.call(sub, new Seen(), "5 seconds")), (seen) => seen.count === 2 + publications ? seen : undefined),
          "every publication reaches the subscribers on b"
        )
        assert.strictEqual((yield* b.call(sub, new Seen(), "5 seconds")).sum, expectedSum)
      }
      let total = 0
      for (const sub of subs) total += (yield* b.call(sub, new Seen(), "5 seconds")).count
      assert.strictEqual(total, subscribers * (2 + publications))
      // once per node: b's relay handled one message per publication, whatever the number of subscribers
      const after = yield* b.node.info(relayB._tag === "Some" ? relayB.value : b.probe)
      assert.strictEqual((after._tag === "Some" ? after.value.messagesIn : -1) - inBefore, publications)
      const bytes = (yield* a.node.connections).peers.find((p) => p.node === "b@127.0.0.1")!.bytesOut - bytesBefore
      assert.isBelow(bytes, publications * 200, `${bytes} bytes for ${publications} publications to ${subscribers} subscribers`)
      assert.deepStrictEqual(yield* b.receive("5 seconds"), { got: 100 })

      // the subscribers on b learn that a is gone
      yield* b.node.disconnect("a@127.0.0.1")
      assert.deepStrictEqual(yield* b.receiveMatching(isTagged("down"), "5 seconds"), { down: "noconnection", event: "numbers" })
      assert.deepStrictEqual((yield* b.call(subs[7]!, new Seen(), "5 seconds")).downs, ["noconnection"])
      assert.isTrue((yield* b.node.info(watcher))._tag === "Some")
    }), 60_000)

  it.scopedLive("a remote producer's crash reaches remote monitors and links; unknown remote events are refused", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1", { messages: [...messages, ...eventMessages] })
      const b = yield* make("b@127.0.0.1", { messages: [...messages, ...eventMessages] })
      // a runs no relay yet: nothing was ever registered there
      const none = yield* run(b, (ctx) => Event.monitor(ctx, Event.name("numbers", "a@127.0.0.1")))
      assert.strictEqual(Either.isLeft(none) && (none.left as any)._tag, "EventUnknown")
      const producer = yield* a.spawn(Producer, { name: "numbers" })
      const missing = yield* run(b, (ctx) => Event.monitor(ctx, Event.name("other", "a@127.0.0.1")))
      assert.strictEqual(Either.isLeft(missing) && (missing.left as any)._tag, "EventUnknown")
      const event = Event.name("numbers", "a@127.0.0.1")
      yield* b.spawn(Subscriber, { event, kind: "monitor", forward: b.probe })
      yield* b.receiveMatching(isTagged("buffer"), "5 seconds")
      const linked = yield* b.spawn(Subscriber, { event, kind: "link" })
      // in order, the last publications before the crash included
      for (const m of [9, 10, 11, "crash"] as const) yield* a.send(producer, m)
      for (const n of [9, 10, 11]) assert.deepStrictEqual(yield* b.receive("5 seconds"), { got: n })
      assert.deepStrictEqual(yield* b.receive("5 seconds"), { down: "error", event: "numbers" })
      assert.strictEqual((yield* b.exitReason(linked))._tag, "error")
      // a subscription after the end is refused, and a new producer of the same name is reachable
      const gone = yield* run(b, (ctx) => Event.monitor(ctx, event))
      assert.strictEqual(Either.isLeft(gone) && (gone.left as any)._tag, "EventUnknown")
      const again = yield* a.spawn(Producer, { name: "numbers" })
      yield* b.spawn(Subscriber, { event, kind: "monitor", forward: b.probe })
      yield* b.receiveMatching(isTagged("buffer"), "5 seconds")
      yield* a.send(again, 10)
      assert.deepStrictEqual(yield* b.receiveMatching(isTagged("got"), "5 seconds"), { got: 10 })
    }), 60_000)
})
