import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Schema } from "effect"
import { Message, Process } from "../../src/index.js"
import { unsafeEncoded } from "../../src/Message/internal/codec.js"
import type { TestEnv } from "../../src/Testing/index.js"
import { Blob, cluster, Relay } from "../fixtures/dist.js"

class Note extends Schema.TaggedClass<Note>()("remote/Note", { text: Schema.String }) {}
class Lookup extends Schema.TaggedRequest<Lookup>()("remote/Lookup", {
  failure: Schema.Never,
  success: Schema.Number,
  payload: { key: Schema.String }
}) {}
Message.unsafeRegister(Note, Lookup)

/**
 * Both nodes share this process's registry, so a peer whose values this node's schema
 * rejects is played with what the wire carries (not checked again at the sender).
 */
const forgedNote = () => unsafeEncoded("remote/Note", { _tag: "remote/Note", text: 42 })
const forgedLookup = () => unsafeEncoded("remote/Lookup", { _tag: "remote/Lookup", key: 42 })

/** Answers `Lookup` with the key's length; a key "bad reply" gets an instance its schema rejects. */
const Server = Process.make({
  name: "Server",
  init: () => Effect.succeed(0),
  handleCall: (req: Lookup, _from, n) =>
    Effect.succeed(
      req.key === "bad reply"
        ? Process.reply(Object.assign(Object.create(Note.prototype), { _tag: "remote/Note", text: 1 }) as number, n)
        : req.key === "undecodable reply"
        ? Process.reply(forgedNote() as unknown as number, n)
        : Process.reply(req.key.length, n)
    )
})

/** Tells `to` "blocked" on its first message, then waits for `release`; its mailbox holds one message. */
const Blocker = Process.make({
  name: "Blocker",
  init: (args: { readonly to: Process.Pid; readonly release: Deferred.Deferred<void> }) => Effect.succeed(args),
  handleMessage: (_msg: unknown, s, ctx) =>
    ctx.send(s.to, "blocked").pipe(Effect.zipRight(Deferred.await(s.release)), Effect.as(s)),
  options: { mailboxSize: 1 }
})

const linesWith = (env: TestEnv, ...parts: ReadonlyArray<string>) =>
  Effect.map(env.logs, (logs) => logs.filter((l) => parts.every((p) => l.message.includes(p))).map((l) => l.message))

/** Polls `f` until `done` holds (at most 4 s, shorter than vitest's timeout). */
const until = <A>(f: Effect.Effect<A>, done: (a: A) => boolean, what: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 400; i++) {
      const a = yield* f
      if (done(a)) return a
      yield* Effect.sleep("10 millis")
    }
    return yield* Effect.dieMessage(`timed out waiting for ${what}`)
  })

describe("messages across nodes are validated both ways", () => {
  it.scopedLive("send: an instance its schema rejects fails at the sender with EncodeFailed, small or large; nothing is sent", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const relay = yield* b.spawn(Relay, b.probe)
      const small = Object.assign(Object.create(Note.prototype), { _tag: "remote/Note", text: 42 })
      const e1 = yield* Effect.flip(a.node.trySend(relay, small))
      assert.instanceOf(e1, Message.EncodeFailed)
      assert.strictEqual((e1 as Message.EncodeFailed).type, "remote/Note")
      assert.strictEqual((e1 as Message.EncodeFailed).path, ".text")
      // large (it used to be checked only above 512 bytes): the same error
      const large = Object.assign(Object.create(Blob.prototype), { _tag: "Blob", seq: "one", data: new Uint8Array(4096) })
      const e2 = yield* Effect.flip(a.node.send(relay, large))
      assert.isTrue(e2 instanceof Message.EncodeFailed && e2.path === ".seq", String(e2))
      // nested in a plain structure
      const e3 = yield* Effect.flip(a.node.trySend(relay, { notes: [new Note({ text: "ok" }), small] }))
      assert.instanceOf(e3, Message.EncodeFailed)
      // unregistered is still TypeNotRegistered
      class Unknown extends Schema.TaggedClass<Unknown>()("remote/Unknown", {}) {}
      const e4 = yield* Effect.flip(a.node.trySend(relay, new Unknown()))
      assert.instanceOf(e4, Message.TypeNotRegistered)
      // nothing of them reached b: the next message is the first it gets
      yield* a.node.trySend(relay, new Note({ text: "after" }))
      const got = yield* b.receive("2 seconds")
      assert.deepStrictEqual(got, new Note({ text: "after" }))
    }))

  it.scopedLive("receive: what the receiver's schema rejects is logged with type and field, counted, and dropped", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const relay = yield* b.spawn(Relay, b.probe)
      yield* a.node.trySend(relay, forgedNote())
      yield* a.node.trySend(relay, "after")
      // the bad one never reaches the process; the connection lives
      assert.strictEqual(yield* b.receive("2 seconds"), "after")
      const lines = yield* linesWith(b, "remote/Note", ".text")
      assert.strictEqual(lines.length, 1, lines.join("\n"))
      assert.include(lines[0], "Expected string, actual 42")
      assert.include(lines[0], "a@127.0.0.1")
      assert.strictEqual((yield* b.node.metrics).droppedMessages.undecodable, 1)
      assert.strictEqual((yield* a.node.metrics).droppedMessages.undecodable, 0)
      assert.deepStrictEqual(yield* b.node.nodes, ["a@127.0.0.1"])
    }))

  it.scopedLive("call: a request or reply that fails validation fails the caller at once with a tagged error, never Timeout", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const server = yield* b.spawn(Server, undefined)
      assert.strictEqual(yield* a.call(server, new Lookup({ key: "abc" }), "4 seconds"), 3)
      // the request, at the sender
      const badRequest = Object.assign(Object.create(Lookup.prototype), { _tag: "remote/Lookup", key: 1 }) as Lookup
      const e1 = yield* Effect.flip(a.call(server, badRequest, "4 seconds"))
      assert.isTrue(e1 instanceof Message.EncodeFailed && e1.path === ".key", String(e1))
      // the request, at the receiver
      const e2 = yield* Effect.flip(a.call(server, forgedLookup() as unknown as Lookup, "4 seconds"))
      assert.isTrue(e2 instanceof Message.DecodeFailed && e2.path === ".key" && e2.type === "remote/Lookup", String(e2))
      assert.include(e2.message, "Expected string, actual 42")
      // the reply, at the callee (its encoding)
      const e3 = yield* Effect.flip(a.call(server, new Lookup({ key: "bad reply" }), "4 seconds"))
      assert.isTrue(e3 instanceof Message.EncodeFailed && e3.path === ".text", String(e3))
      // the reply, at the caller (its decoding)
      const e4 = yield* Effect.flip(a.call(server, new Lookup({ key: "undecodable reply" }), "4 seconds"))
      assert.isTrue(e4 instanceof Message.DecodeFailed && e4.path === ".text", String(e4))
      // the server lives on
      assert.strictEqual(yield* a.call(server, new Lookup({ key: "abcd" }), "4 seconds"), 4)
      assert.strictEqual((yield* b.node.metrics).droppedMessages.undecodable, 1)
      assert.strictEqual((yield* a.node.metrics).droppedMessages.undecodable, 1)
    }))
})

describe("a remote send to a full mailbox", () => {
  it.scopedLive("is logged at the receiver (one line per target per second, with the count of the others) and counted", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      const release = yield* Deferred.make<void>()
      yield* Effect.addFinalizer(() => Deferred.succeed(release, undefined))
      const blocker = yield* b.spawn(Blocker, { to: b.probe, release })
      yield* a.node.trySend(blocker, "first")
      assert.strictEqual(yield* b.receive("2 seconds"), "blocked")
      // one fills the mailbox, five are refused there
      for (let i = 0; i < 6; i++) yield* a.node.trySend(blocker, i)
      yield* until(Effect.map(b.node.metrics, (m) => m.droppedMessages.mailboxFull), (n) => n === 5, "5 drops")
      const first = yield* linesWith(b, "mailbox", String(blocker))
      assert.strictEqual(first.length, 1, first.join("\n"))
      assert.include(first[0], "a@127.0.0.1")
      // a second later, the next drop logs again and says how many were not logged
      yield* Effect.sleep("1100 millis")
      yield* a.node.trySend(blocker, "late")
      yield* until(Effect.map(b.node.metrics, (m) => m.droppedMessages.mailboxFull), (n) => n === 6, "the 6th drop")
      const lines = yield* until(linesWith(b, "mailbox", String(blocker)), (l) => l.length === 2, "a second line")
      assert.include(lines[1], "4 more")
      assert.strictEqual((yield* a.node.metrics).droppedMessages.mailboxFull, 0)
    }))
})
