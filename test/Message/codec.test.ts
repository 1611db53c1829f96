import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Either, Exit, Option, Schema } from "effect"
import * as Message from "../../src/Message/index.js"
import * as codec from "../../src/Message/internal/codec.js"
import * as ExitReason from "../../src/Process/ExitReason.js"
import * as Errors from "../../src/Process/errors.js"
import { Down, Exit as Exit_, From, IdleTimeout, NodeDown, NodeUp } from "../../src/Process/Message.js"
import { Alias, Name, Pid, Reference } from "../../src/Process/Pid.js"

class Put extends Schema.TaggedClass<Put>()("codec/Put", { key: Schema.String, value: Schema.Number, owner: Pid }) {}
class Get extends Schema.TaggedRequest<Get>()("codec/Get", {
  failure: Schema.String,
  success: Schema.Number,
  payload: { key: Schema.String }
}) {}
class Point extends Schema.Class<Point>("codec/Point")({ x: Schema.Number, y: Schema.Number }) {}
class Box extends Schema.TaggedClass<Box>()("codec/Box", { content: Schema.Unknown, at: Schema.Date }) {}
class Note extends Schema.TaggedClass<Note>()("codec/Note", { text: Schema.String, n: Schema.Number }) {}
class Secret extends Schema.TaggedClass<Secret>()("codec/Secret", { s: Schema.String }) {}
Message.unsafeRegister(Put, Get, Point, Box, Note)

/** The tag of an Either's failure ("Right" when it succeeded), so a wrong outcome says which. */
const leftTag = (e: Either.Either<unknown, { readonly _tag: string }>): string => (Either.isLeft(e) ? e.left._tag : "Right")

const roundTrip = (value: unknown): unknown => Either.getOrThrow(Message.decode(Either.getOrThrow(Message.encode(value))))

describe("Message", () => {
  const pid = new Pid({ node: "a@localhost", id: 7, creation: 3 })

  it("passes primitives and plain structures unregistered", () => {
    const value = { a: 1, b: "x", c: [true, null, 2.5], d: { e: new Uint8Array([1, 2, 3]) } }
    const back = roundTrip(value) as any
    assert.deepStrictEqual({ ...back, d: { e: Array.from(back.d.e) } }, { ...value, d: { e: [1, 2, 3] } })
  })

  it("round-trips registered classes, with a nested pid, by Schema", () => {
    const put = new Put({ key: "k", value: 1, owner: pid })
    const back = roundTrip({ t: "send", to: pid, msg: put }) as any
    assert.instanceOf(back.msg, Put)
    assert.instanceOf(back.msg.owner, Pid)
    assert.instanceOf(back.to, Pid)
    assert.strictEqual(back.msg.owner.toString(), "<a@localhost.7.3>")
    assert.deepStrictEqual(back.msg, put)
    assert.instanceOf(roundTrip(new Get({ key: "k" })), Get)
    const point = roundTrip([new Point({ x: 1, y: 2 })]) as Array<Point>
    assert.instanceOf(point[0], Point)
    assert.strictEqual(point[0].y, 2)
  })

  it("carries registered values inside Schema.Unknown fields and Date fields", () => {
    const at = new Date(1700000000000)
    const back = roundTrip(new Box({ content: { p: new Point({ x: 3, y: 4 }) }, at })) as Box
    assert.instanceOf((back.content as any).p, Point)
    assert.strictEqual(back.at.getTime(), at.getTime())
  })

  it("pre-registers identifiers, exit reasons and system messages", () => {
    const ref = new Reference({ node: "a@h", id: 1, creation: 1 })
    const values = [
      pid,
      ref,
      new Alias({ node: "a@h", id: 2, creation: 1 }),
      new Name({ name: "kv", node: "b@h" }),
      ExitReason.normal,
      ExitReason.shutdownWith("bye"),
      ExitReason.killed,
      ExitReason.noconnection,
      new Down({ ref, target: pid, reason: ExitReason.noproc }),
      new From({ to: pid, ref })
    ]
    const back = roundTrip(values) as Array<unknown>
    for (let i = 0; i < values.length; i++) {
      assert.strictEqual((back[i] as object).constructor, (values[i] as object).constructor)
      assert.deepStrictEqual(back[i], values[i])
    }
    const crash = roundTrip(ExitReason.error("boom")) as ExitReason.ExitReason
    assert.strictEqual(crash._tag, "error")
    if (crash._tag === "error") assert.deepStrictEqual(Cause.failureOption(crash.cause), Option.some("boom"))
  })

  it("gives every Rain message, reason and error a namespaced wire identifier, and each comes back as its own class", () => {
    const ref = new Reference({ node: "a@h", id: 1, creation: 1 })
    const values: Array<{ readonly constructor: unknown }> = [
      new Down({ ref, target: pid, reason: ExitReason.noproc }),
      new Exit_({ from: pid, reason: ExitReason.killed }),
      new IdleTimeout(),
      new NodeDown({ node: "b@h", reason: "closed" }),
      new NodeUp({ node: "b@h" }),
      new From({ to: pid, ref }),
      ExitReason.normal,
      ExitReason.shutdown,
      ExitReason.kill,
      ExitReason.killed,
      ExitReason.noproc,
      ExitReason.noconnection,
      ExitReason.error("boom"),
      new Errors.ProcessUnknown({ target: "x" }),
      new Errors.Timeout({ target: "x", millis: 5 }),
      new Errors.ProcessExited({ target: "x", reason: ExitReason.normal }),
      new Errors.MailboxFull({ target: "x", size: 1 }),
      new Errors.NoConnection({ node: "b@h" }),
      new Errors.InitFailed({ behaviour: "B", reason: ExitReason.normal }),
      new Errors.NameTaken({ name: "n", owner: "o" }),
      new Errors.AlreadyRegistered({ pid: "p", name: "n" }),
      new Errors.TooManyProcesses({ node: "a@h", limit: 1 }),
      new Errors.NodeStopped({ node: "a@h" }),
      new Errors.MessageTooLarge({ size: 2, limit: 1 }),
      new Errors.CallNotHandled({ target: "x", behaviour: "B" }),
      new Errors.SpawnRefused({ node: "b@h", behaviour: "B", reason: "r" }),
      new Errors.NotDistributed({ node: "a@h" }),
      new Message.TypeNotRegistered({ type: "T" }),
      new Message.EncodeFailed({ type: "T", path: ".a", detail: "d" }),
      new Message.DecodeFailed({ type: "T", path: ".a", detail: "d" })
    ]
    const ids = new Set<string>()
    for (const value of values) {
      const klass = value.constructor as { readonly identifier: string }
      assert.match(klass.identifier, /^rain\/(Process|Message)\//, klass.identifier)
      ids.add(klass.identifier)
      const back = roundTrip(value) as { readonly constructor: unknown }
      assert.strictEqual(back.constructor, value.constructor, klass.identifier)
    }
    assert.strictEqual(ids.size, values.length) // no two classes share an identifier
    // the idle-timeout message and the call error no longer share a tag or an identifier
    assert.notStrictEqual(new IdleTimeout()._tag, new Errors.Timeout({ target: "x", millis: 1 })._tag)
    assert.instanceOf(roundTrip(new IdleTimeout()), IdleTimeout)
    for (const klass of [Pid, Reference, Alias, Name]) assert.match(klass.identifier, /^rain\/Process\//)
  })

  it("refuses an unregistered class or a function with TypeNotRegistered", () => {
    const r = Message.encode({ t: "send", msg: new Secret({ s: "x" }) })
    assert.strictEqual(leftTag(r), "TypeNotRegistered")
    if (Either.isLeft(r)) assert.include(r.left.message, "Message.register(Secret)")
    assert.isFalse(Message.isSendable([1, new Secret({ s: "x" })]))
    assert.isTrue(Message.isSendable([1, new Point({ x: 1, y: 1 })]))
    const f = Message.encode({ f: () => 1 })
    assert.strictEqual(leftTag(f), "TypeNotRegistered")
  })

  it("refuses at the sender, with EncodeFailed naming type and field, an instance its schema rejects: plain fields", () => {
    // a plain class (no transformation): before, it crossed unvalidated
    const bad = Object.assign(Object.create(Note.prototype), { _tag: "codec/Note", text: 42, n: 1 }) as Note
    const e = Message.encode(bad)
    assert.isTrue(Either.isLeft(e))
    const error = Either.isLeft(e) ? e.left : undefined
    assert.instanceOf(error, Message.EncodeFailed)
    assert.strictEqual((error as Message.EncodeFailed).type, "codec/Note")
    assert.strictEqual((error as Message.EncodeFailed).path, ".text")
    assert.include(error!.message, "Expected string, actual 42")
    assert.isFalse(Message.isSendable(bad))
    assert.isFalse(Message.isSendable({ inside: [bad] }))
    // a wrong literal (the tag) and a missing field are refused too
    const wrongTag = Object.assign(Object.create(Note.prototype), { _tag: "Other", text: "t", n: 1 })
    assert.isTrue(Either.isLeft(Message.encode(wrongTag)))
    const missing = Object.assign(Object.create(Note.prototype), { _tag: "codec/Note", text: "t" })
    const m = Message.encode(missing)
    assert.isTrue(Either.isLeft(m) && m.left._tag === "EncodeFailed" && m.left.path === ".n")
    // nested in a plain structure: the same error
    const nested = Message.encode({ list: [new Note({ text: "ok", n: 1 }), bad] })
    assert.isTrue(Either.isLeft(nested) && nested.left._tag === "EncodeFailed")
    // a valid one passes and round-trips
    assert.deepStrictEqual(roundTrip(new Note({ text: "ok", n: 2 })), new Note({ text: "ok", n: 2 }))
  })

  it("refuses at the sender an instance its schema rejects: refinements and transformations, small or large", () => {
    class Strict extends Schema.Class<Strict>("codec/Strict")({ n: Schema.NumberFromString, tags: Schema.Array(Schema.String) }) {}
    class Positive extends Schema.TaggedClass<Positive>()("codec/Positive", { n: Schema.Int.pipe(Schema.positive()) }) {}
    Message.unsafeRegister(Strict, Positive)
    const small = Object.assign(Object.create(Strict.prototype), { n: "not a number", tags: [] })
    const large = Object.assign(Object.create(Strict.prototype), { n: "x", tags: Array.from({ length: 200 }, () => "abcdef") })
    for (const bad of [small, large]) {
      const b = Message.encode(bad)
      assert.isTrue(Either.isLeft(b) && b.left._tag === "EncodeFailed" && b.left.path === ".n", String(b))
    }
    const badItem = Object.assign(Object.create(Strict.prototype), { n: 1, tags: ["a", 2] })
    const i = Message.encode(badItem)
    assert.isTrue(Either.isLeft(i) && i.left._tag === "EncodeFailed" && i.left.path === ".tags.1")
    const p = Message.encode(Object.assign(Object.create(Positive.prototype), { _tag: "codec/Positive", n: -1 }))
    assert.isTrue(Either.isLeft(p) && p.left._tag === "EncodeFailed" && p.left.path === ".n")
    if (Either.isLeft(p)) assert.include(p.left.message, "positive")
    assert.deepStrictEqual(roundTrip(new Positive({ n: 3 })), new Positive({ n: 3 }))
  })

  it("validates at the receiver: a peer's invalid fields decode to DecodeFailed with type and field path", () => {
    // what a peer (or an `as any` on an older node) puts on the wire
    const forged = codec.pack(codec.unsafeEncoded("codec/Note", { _tag: "codec/Note", text: 42, n: 1 }))
    const d = Message.decode(forged)
    assert.isTrue(Either.isLeft(d))
    if (Either.isLeft(d)) {
      assert.strictEqual(d.left.type, "codec/Note")
      assert.strictEqual(d.left.path, ".text")
      assert.include(d.left.message, "Expected string, actual 42")
    }
    // a peer with another version of the class (a field renamed, reordered or retyped): refused, not misread
    const otherVersion = codec.pack(new codec.Encoded(["codec/Note", 12345, "t", 1]))
    const o = Message.decode(otherVersion)
    assert.isTrue(Either.isLeft(o) && o.left.type === "codec/Note")
    if (Either.isLeft(o)) assert.include(o.left.message, "other fields")
    const swapped = codec.unsafeEncoded("codec/Note", { _tag: "codec/Note", text: "t", n: 1 }).wire as Array<unknown>
    ;[swapped[2], swapped[3]] = [swapped[3], swapped[2]]
    const misread = Message.decode(codec.pack(new codec.Encoded(swapped)))
    assert.isTrue(Either.isLeft(misread) && misread.left.path === ".text")
    const notAClass = Message.decode(codec.pack(new codec.Encoded([42])))
    assert.isTrue(Either.isLeft(notAClass))
    const forgedPut = codec.pack(codec.unsafeEncoded("codec/Put", { _tag: "codec/Put", key: "k", value: 1, owner: { node: 1 } }))
    const p = Message.decode(forgedPut)
    assert.isTrue(Either.isLeft(p) && p.left.type === "codec/Put" && p.left.path?.startsWith(".owner") === true)
    // an unknown class is still "register it": no path
    const unknown = Message.decode(codec.pack(new codec.Encoded(["codec/Nope", {}])))
    assert.isTrue(Either.isLeft(unknown) && unknown.left.path === undefined)
    if (Either.isLeft(unknown)) assert.include(unknown.left.message, "Message.register(codec/Nope)")
  })

  it("a call's reply its schema rejects fails the caller with a tagged error, never a success or a defect", () => {
    const bad = Object.assign(Object.create(Note.prototype), { _tag: "codec/Note", text: 42, n: 1 })
    // at the callee: refused by encode, the caller gets EncodeFailed
    const sent = codec.decodeExit(codec.unpack(codec.pack(codec.encodeExit(Exit.succeed(bad)))) as Array<unknown>)
    assert.isTrue(Exit.isFailure(sent))
    const failure = Exit.isFailure(sent) ? Cause.failureOption(sent.cause) : undefined
    assert.isTrue(failure?._tag === "Some" && failure.value instanceof Message.EncodeFailed)
    // at the caller: a reply that does not decode here fails with DecodeFailed
    const wire = [true, codec.unsafeEncoded("codec/Note", { _tag: "codec/Note", text: 1, n: 1 })]
    const got = codec.decodeExit(codec.unpack(codec.pack(wire)) as Array<unknown>)
    const f2 = Exit.isFailure(got) ? Cause.failureOption(got.cause) : undefined
    assert.isTrue(f2?._tag === "Some" && f2.value instanceof Message.DecodeFailed && f2.value.path === ".text")
    // an unregistered reply: TypeNotRegistered, as a failure
    const secret = codec.decodeExit(codec.unpack(codec.pack(codec.encodeExit(Exit.succeed(new Secret({ s: "x" }))))) as Array<unknown>)
    const f3 = Exit.isFailure(secret) ? Cause.failureOption(secret.cause) : undefined
    assert.isTrue(f3?._tag === "Some" && f3.value instanceof Message.TypeNotRegistered)
    // a good reply succeeds
    const ok = codec.decodeExit(codec.unpack(codec.pack(codec.encodeExit(Exit.succeed(new Note({ text: "a", n: 1 }))))) as Array<unknown>)
    assert.isTrue(Exit.isSuccess(ok) && ok.value instanceof Note)
  })

  it("fails to decode garbage or a type the receiver does not know, without throwing", () => {
    const g = Message.decode(new Uint8Array([0xc1, 0xff, 0x00]))
    assert.strictEqual(leftTag(g), "DecodeFailed")
    // what another node sends for a class this one never registered
    class Elsewhere extends Schema.TaggedClass<Elsewhere>()("codec/Elsewhere", { n: Schema.Number }) {}
    const bytes = Either.getOrThrow(Message.encode(new Put({ key: "k", value: 1, owner: pid })))
    const foreign = Buffer.from(Buffer.from(bytes).toString("latin1").replace("codec/Put", "codec/Xyz"), "latin1")
    const u = Message.decode(foreign)
    assert.strictEqual(leftTag(u), "DecodeFailed")
    if (Either.isLeft(u)) assert.strictEqual(u.left.type, "codec/Xyz")
    if (Either.isLeft(u)) assert.include(u.left.message, "Message.register(codec/Xyz)")
    assert.isFalse(Message.isSendable(new Elsewhere({ n: 1 })))
  })

  it("writes byte arrays as msgpack bin, byte for byte, before and after a class is registered", () => {
    // the bin header of each size class, then the bytes; a Buffer is a byte array too
    const expected = (n: number): Array<number> =>
      n < 0x100 ? [0xc4, n] : n < 0x10000 ? [0xc5, n >> 8, n & 0xff] : [0xc6, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]
    const check = () => {
      for (const n of [0, 1, 255, 256, 65535, 65536, 70000]) {
        const bytes = new Uint8Array(n).map((_, i) => (i * 7) & 0xff)
        for (const value of [bytes, Buffer.from(bytes)]) {
          const packed = codec.pack(value)
          const header = expected(n)
          assert.deepStrictEqual(Array.from(packed.subarray(0, header.length)), header, `header of ${n} bytes`)
          assert.strictEqual(packed.length, header.length + n, `length of ${n} bytes`)
          assert.isTrue(Buffer.from(packed.subarray(header.length)).equals(Buffer.from(bytes)), `body of ${n} bytes`)
          const back = codec.unpack(packed) as Uint8Array
          assert.instanceOf(back, Uint8Array)
          assert.isTrue(Buffer.from(back).equals(Buffer.from(bytes)), `round trip of ${n} bytes`)
        }
      }
      // other typed arrays keep msgpackr's own writer: bin of their bytes, as before
      const floats = new Float64Array([1.5, -2])
      const packedFloats = codec.pack(floats)
      assert.deepStrictEqual(Array.from(packedFloats.subarray(0, 2)), [0xc4, 16])
      assert.isTrue(Buffer.from(packedFloats.subarray(2)).equals(Buffer.from(floats.buffer)))
    }
    check()
    class Bytes extends Schema.TaggedClass<Bytes>()("codec/Bytes", { data: Schema.Uint8ArrayFromSelf }) {}
    Message.unsafeRegister(Bytes)
    check()
    const back = roundTrip(new Bytes({ data: new Uint8Array([9, 8, 7]) })) as Bytes
    assert.instanceOf(back, Bytes)
    assert.deepStrictEqual(Array.from(back.data), [9, 8, 7])
    // the extension type that keys the byte-array writer is never written, and not read
    assert.strictEqual(leftTag(Message.decode(new Uint8Array([0xd4, 0x56, 0x00]))), "DecodeFailed")
  })

  it.effect("register makes a class sendable", () =>
    Effect.gen(function*() {
      class Ping extends Schema.TaggedClass<Ping>()("codec/Ping", { n: Schema.Number }) {}
      assert.isFalse(Message.isSendable(new Ping({ n: 1 })))
      yield* Message.register(Ping)
      assert.isTrue(Message.isSendable(new Ping({ n: 1 })))
      assert.instanceOf(roundTrip(new Ping({ n: 2 })), Ping)
    }))
})
