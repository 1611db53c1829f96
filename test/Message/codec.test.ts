import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Either, Schema } from "effect"
import * as Message from "../../src/Message/index.js"
import * as ExitReason from "../../src/Process/ExitReason.js"
import { Alias, Name, Pid, Reference } from "../../src/Process/Pid.js"

class Put extends Schema.TaggedClass<Put>()("Put", { key: Schema.String, value: Schema.Number, owner: Pid }) {}
class Get extends Schema.TaggedRequest<Get>()("Get", {
  failure: Schema.String,
  success: Schema.Number,
  payload: { key: Schema.String }
}) {}
class Point extends Schema.Class<Point>("test/Point")({ x: Schema.Number, y: Schema.Number }) {}
class Box extends Schema.TaggedClass<Box>()("Box", { content: Schema.Unknown, at: Schema.Date }) {}
class Secret extends Schema.TaggedClass<Secret>()("Secret", { s: Schema.String }) {}

const roundTrip = (registry: Message.Registry, value: unknown): unknown => {
  const bytes = Either.getOrThrow(Message.encode(value, registry))
  return Either.getOrThrow(Message.decode(bytes, registry))
}

describe("Message", () => {
  const registry = Message.makeRegistry()
  Message.unsafeRegisterIn(registry, Put, Get, Point, Box)
  const pid = new Pid({ node: "a@localhost", id: 7, creation: 3 })

  it("passes primitives and plain structures unregistered", () => {
    const value = { a: 1, b: "x", c: [true, null, 2.5], d: { e: new Uint8Array([1, 2, 3]) }, f: undefined }
    const back = roundTrip(registry, value) as any
    assert.deepStrictEqual({ ...back, d: { e: Array.from(back.d.e) } }, {
      ...value,
      d: { e: [1, 2, 3] }
    })
  })

  it("round-trips registered classes, with a nested pid, by Schema", () => {
    const put = new Put({ key: "k", value: 1, owner: pid })
    const back = roundTrip(registry, { t: "send", to: pid, msg: put }) as any
    assert.instanceOf(back.msg, Put)
    assert.instanceOf(back.msg.owner, Pid)
    assert.instanceOf(back.to, Pid)
    assert.strictEqual(back.msg.owner.toString(), "<a@localhost.7.3>")
    assert.deepStrictEqual(back.msg, put)
    const get = roundTrip(registry, new Get({ key: "k" }))
    assert.instanceOf(get, Get)
    const point = roundTrip(registry, [new Point({ x: 1, y: 2 })]) as Array<Point>
    assert.instanceOf(point[0], Point)
    assert.strictEqual(point[0].y, 2)
  })

  it("carries registered values inside Schema.Unknown fields and Date fields", () => {
    const at = new Date(1700000000000)
    const back = roundTrip(registry, new Box({ content: { p: new Point({ x: 3, y: 4 }) }, at })) as Box
    assert.instanceOf((back.content as any).p, Point)
    assert.strictEqual(back.at.getTime(), at.getTime())
  })

  it("pre-registers pids, references, aliases, names and exit reasons", () => {
    const fresh = Message.makeRegistry()
    const values = [
      pid,
      new Reference({ node: "a@h", id: 1, creation: 1 }),
      new Alias({ node: "a@h", id: 2, creation: 1 }),
      new Name({ name: "kv", node: "b@h" }),
      ExitReason.normal,
      ExitReason.shutdownWith("bye"),
      ExitReason.killed,
      ExitReason.noconnection
    ]
    const back = roundTrip(fresh, values) as Array<unknown>
    for (let i = 0; i < values.length; i++) {
      assert.strictEqual((back[i] as object).constructor, (values[i] as object).constructor)
      assert.deepStrictEqual(back[i], values[i])
    }
    const crash = roundTrip(fresh, ExitReason.error("boom")) as ExitReason.ExitReason
    assert.strictEqual(crash._tag, "error")
    assert.isTrue(crash._tag === "error" && Cause.isFailType(crash.cause) && crash.cause.error === "boom")
  })

  it("refuses an unregistered class with TypeNotRegistered", () => {
    const r = Message.encode({ t: "send", msg: new Secret({ s: "x" }) }, registry)
    assert.isTrue(Either.isLeft(r))
    const e = Either.getLeft(r).pipe((o) => o._tag === "Some" ? o.value : undefined)!
    assert.strictEqual(e._tag, "TypeNotRegistered")
    assert.include(e.message, "Message.register(Secret)")
  })

  it("refuses functions and values their Schema rejects", () => {
    const f = Message.encode({ f: () => 1 }, registry)
    assert.isTrue(Either.isLeft(f) && f.left._tag === "EncodeFailed")
    const bad = Object.assign(Object.create(Point.prototype), { x: "no", y: 1 })
    const b = Message.encode(bad, registry)
    assert.isTrue(Either.isLeft(b) && b.left._tag === "EncodeFailed")
  })

  it("fails to decode garbage or a type the receiver does not know, without throwing", () => {
    const g = Message.decode(new Uint8Array([0xc1, 0xff, 0x00]), registry)
    assert.isTrue(Either.isLeft(g) && g.left._tag === "DecodeFailed")
    const bytes = Either.getOrThrow(Message.encode(new Put({ key: "k", value: 1, owner: pid }), registry))
    const u = Message.decode(bytes, Message.makeRegistry())
    assert.isTrue(Either.isLeft(u) && u.left._tag === "DecodeFailed" && u.left.type === "Put")
    if (Either.isLeft(u)) assert.include(u.left.message, "Message.register(Put)")
  })

  it.effect("register adds to the default registry", () =>
    Effect.gen(function*() {
      class Ping extends Schema.TaggedClass<Ping>()("test/Ping", { n: Schema.Number }) {}
      assert.isFalse(Message.isRegistered(Message.defaultRegistry, Ping))
      yield* Message.register(Ping)
      assert.isTrue(Message.isRegistered(Message.defaultRegistry, new Ping({ n: 1 })))
      const back = Either.getOrThrow(Message.decode(Either.getOrThrow(Message.encode(new Ping({ n: 2 })))))
      assert.instanceOf(back, Ping)
    }))
})
