import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Either, Option, Schema } from "effect"
import * as Message from "../../src/Message/index.js"
import * as ExitReason from "../../src/Process/ExitReason.js"
import { Down, From } from "../../src/Process/Message.js"
import { Alias, Name, Pid, Reference } from "../../src/Process/Pid.js"

class Put extends Schema.TaggedClass<Put>()("codec/Put", { key: Schema.String, value: Schema.Number, owner: Pid }) {}
class Get extends Schema.TaggedRequest<Get>()("codec/Get", {
  failure: Schema.String,
  success: Schema.Number,
  payload: { key: Schema.String }
}) {}
class Point extends Schema.Class<Point>("codec/Point")({ x: Schema.Number, y: Schema.Number }) {}
class Box extends Schema.TaggedClass<Box>()("codec/Box", { content: Schema.Unknown, at: Schema.Date }) {}
class Secret extends Schema.TaggedClass<Secret>()("codec/Secret", { s: Schema.String }) {}
Message.unsafeRegister(Put, Get, Point, Box)

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

  it("refuses an unregistered class or a function with TypeNotRegistered", () => {
    const r = Message.encode({ t: "send", msg: new Secret({ s: "x" }) })
    assert.strictEqual(leftTag(r), "TypeNotRegistered")
    if (Either.isLeft(r)) assert.include(r.left.message, "Message.register(Secret)")
    assert.isFalse(Message.isSendable([1, new Secret({ s: "x" })]))
    assert.isTrue(Message.isSendable([1, new Point({ x: 1, y: 1 })]))
    const f = Message.encode({ f: () => 1 })
    assert.strictEqual(leftTag(f), "TypeNotRegistered")
  })

  it("refuses a value its Schema rejects", () => {
    class Strict extends Schema.Class<Strict>("codec/Strict")({ n: Schema.NumberFromString }) {}
    Message.unsafeRegister(Strict)
    const bad = Object.assign(Object.create(Strict.prototype), { n: "not a number" })
    const b = Message.encode(bad)
    assert.strictEqual(leftTag(b), "TypeNotRegistered")
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

  it.effect("register makes a class sendable", () =>
    Effect.gen(function*() {
      class Ping extends Schema.TaggedClass<Ping>()("codec/Ping", { n: Schema.Number }) {}
      assert.isFalse(Message.isSendable(new Ping({ n: 1 })))
      yield* Message.register(Ping)
      assert.isTrue(Message.isSendable(new Ping({ n: 1 })))
      assert.instanceOf(roundTrip(new Ping({ n: 2 })), Ping)
    }))
})
