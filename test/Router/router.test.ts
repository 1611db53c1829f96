import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Random } from "effect"
import type { Process as P } from "../../src/index.js"
import { Process, Router } from "../../src/index.js"
import * as Testing from "../testing.js"

const names = (n: number, from = 0) => Array.from({ length: n }, (_, i) => Process.name(`w${from + i}`, "a@localhost"))
const keys = Array.from({ length: 20_000 }, (_, i) => `user-${i}`)
const byKey = Router.consistentHashing({ key: (m: { readonly key: string }) => m.key })

/** Where each key goes, as routee identities. */
const placement = (router: Router.Router<{ readonly key: string }>) =>
  Effect.forEach(keys, (key) => Effect.map(Router.route(router, { key }), ([to]) => String(to)))

describe("Router (values)", () => {
  it.effect("consistent hashing: a key always reaches the same routee, whatever the order the routees were given in", () =>
    Effect.gen(function*() {
      const routees = names(10)
      const one = yield* Router.make(byKey, routees)
      const other = yield* Router.make(byKey, routees.slice().reverse())
      const first = yield* placement(one)
      assert.deepStrictEqual(yield* placement(one), first)
      assert.deepStrictEqual(yield* placement(other), first)
      // balanced: every routee holds between half and 1.6x its fair share (deterministic: fixed keys, fixed hash)
      const counts = new Map<string, number>()
      for (const to of first) counts.set(to, (counts.get(to) ?? 0) + 1)
      assert.strictEqual(counts.size, 10)
      for (const count of counts.values()) {
        assert.isAbove(count, keys.length / 10 / 2)
        assert.isBelow(count, (keys.length / 10) * 1.6)
      }
    }))

  it.effect("consistent hashing: a routee joining takes about 1/N of the keys, all from the others; one leaving moves only its own", () =>
    Effect.gen(function*() {
      const ten = yield* Router.make(byKey, names(10))
      const before = yield* placement(ten)
      const eleven = yield* Router.withRoutees(ten, names(11))
      const after = yield* placement(eleven)
      let moved = 0
      for (let i = 0; i < keys.length; i++) {
        if (before[i] !== after[i]) {
          moved++
          // a key that moves, moves to the newcomer
          assert.strictEqual(after[i], String(names(1, 10)[0]))
        }
      }
      // expected 1/11 of the keys (1,818); the bounds are wide, and the test deterministic
      assert.isAbove(moved, keys.length / 11 / 2)
      assert.isBelow(moved, (keys.length / 11) * 2)
      // w3 leaves: only its keys move
      const without = yield* Router.withRoutees(ten, names(10).filter((n) => n.name !== "w3"))
      const left = yield* placement(without)
      for (let i = 0; i < keys.length; i++) {
        if (before[i] !== String(names(1, 3)[0])) assert.strictEqual(left[i], before[i])
        else assert.notStrictEqual(left[i], before[i])
      }
    }))

  it.effect("random picks uniformly (seeded Random), round-robin in turn, broadcast every routee", () =>
    Effect.gen(function*() {
      const routees = names(3)
      const rnd = yield* Router.make(Router.random, routees)
      const counts = new Map<string, number>()
      for (let i = 0; i < 3000; i++) {
        const [to] = yield* Router.route(rnd, { key: "x" })
        counts.set(String(to), (counts.get(String(to)) ?? 0) + 1)
      }
      assert.strictEqual(counts.size, 3)
      for (const count of counts.values()) assert.isAbove(count, 800)
      const rr = yield* Router.make(Router.roundRobin, routees)
      const turns: Array<string> = []
      for (let i = 0; i < 6; i++) turns.push(String((yield* Router.route(rr, "m"))[0]))
      assert.deepStrictEqual(turns, [...routees, ...routees].map(String))
      const all = yield* Router.make(Router.broadcast, routees)
      assert.deepStrictEqual((yield* Router.route(all, "m")).map(String), routees.map(String))
    }).pipe(Effect.withRandom(Random.make(42))))

  it.effect("bad routers and empty ones fail with tagged errors that say what to do", () =>
    Effect.gen(function*() {
      const twice = yield* Effect.flip(Router.make(Router.roundRobin, [...names(2), ...names(1)]))
      assert.strictEqual(twice._tag, "InvalidRouter")
      assert.include(twice.message, "w0@{a@localhost} is given twice")
      const vnodes = yield* Effect.flip(Router.make(Router.consistentHashing({ key: String, virtualNodes: 0 }), names(2)))
      assert.include(vnodes.message, "virtualNodes is 0")
      const empty = yield* Router.make(Router.random, [])
      const none = yield* Effect.flip(Router.route(empty, "m"))
      assert.strictEqual(none._tag, "NoRoutees")
      assert.include(none.message, "SetRoutees")
    }))
})

/** Tells the probe which routee got what; answers calls with its own name. */
const Routee = Process.make({
  name: "Routee",
  init: (args: { readonly probe: P.Pid; readonly me: string }) => Effect.succeed(args),
  handleMessage: (msg: { readonly key: string }, s, ctx) => Effect.as(ctx.send(s.probe, `${s.me} got ${msg.key}`), s),
  handleCall: (req: { readonly key: string }, from, s) => Effect.succeed(Process.reply(`${s.me} answers ${req.key} to ${from.to}`, s))
})

describe("Router (with processes)", () => {
  it.scoped("Router.send broadcasts to every routee; Router.call reaches the key's routee", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pids = yield* Effect.forEach(["r0", "r1", "r2"], (me) => env.spawn(Routee, { probe: env.probe, me }))
      const all = yield* Router.make(Router.broadcast, pids)
      yield* Router.send(env.node, all, { key: "k" })
      const got = [yield* env.receive(), yield* env.receive(), yield* env.receive()]
      assert.sameMembers(got as Array<string>, ["r0 got k", "r1 got k", "r2 got k"])
      const hashed = yield* Router.make(byKey, pids)
      const [owner] = yield* Router.route(hashed, { key: "ada" })
      const answer = yield* Router.call(env.node, hashed, { key: "ada" })
      const me = ["r0", "r1", "r2"][pids.findIndex((p) => String(p) === String(owner))]
      assert.match(answer as string, new RegExp(`^${me} answers ada`))
      // broadcast call: the first reply wins
      const first = yield* Router.call(env.node, all, { key: "b" })
      assert.match(first as string, /^r\d answers b/)
    }))

  it.scoped("a router process forwards messages and calls (the routee answers the caller), and takes new routees", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pids = yield* Effect.forEach(["r0", "r1", "r2"], (me) => env.spawn(Routee, { probe: env.probe, me }))
      const router = yield* env.spawn(Router.behaviour(yield* Router.make(byKey, pids)), undefined)
      const answers = yield* Effect.forEach(["ada", "bob", "ada"], (key) => env.call(router, { key }))
      const who = answers.map((a) => (a as string).split(" ")[0])
      assert.strictEqual(who[0], who[2])
      assert.notInclude(answers[0] as string, String(router)) // the reply address is the caller's, not the router's
      yield* env.send(router, { key: "ada" })
      assert.strictEqual(yield* env.receive(), (answers[0] as string).split(" ")[0] + " got ada")
      // a dead routee: calls fail with ProcessUnknown, at once
      const owner = (answers[0] as string).split(" ")[0]!
      const ownerPid = pids[["r0", "r1", "r2"].indexOf(owner)]!
      yield* env.node.exit(ownerPid, Process.ExitReason.kill)
      yield* env.exitReason(ownerPid)
      const gone = yield* Effect.flip(env.call(router, { key: "ada" }))
      assert.strictEqual(gone._tag, "ProcessUnknown")
      // new routees, without the dead one: "ada" goes to a live one
      const live = pids.filter((p) => p !== ownerPid)
      assert.strictEqual(yield* env.call(router, new Router.SetRoutees({ routees: live })), 2)
      assert.notInclude((yield* env.call(router, { key: "ada" })) as string, owner)
      assert.strictEqual((yield* env.call(router, new Router.GetRoutees())).length, 2)
      const dup = yield* Effect.flip(env.call(router, new Router.SetRoutees({ routees: [live[0]!, live[0]!] })))
      assert.strictEqual(dup._tag, "InvalidRouter")
    }))

  it.scoped("a broadcast router process: a message reaches every routee, a call is answered by the first reply; a full routee refuses a call", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const pids = yield* Effect.forEach(["r0", "r1"], (me) => env.spawn(Routee, { probe: env.probe, me }))
      const router = yield* env.spawn(Router.behaviour(yield* Router.make(Router.broadcast, pids)), undefined)
      yield* env.send(router, { key: "all" })
      assert.sameMembers([yield* env.receive(), yield* env.receive()] as Array<string>, ["r0 got all", "r1 got all"])
      assert.match((yield* env.call(router, { key: "q" })) as string, /^r\d answers q/)
      // the second reply was dropped: nothing else arrives, and the router is still there
      yield* env.expectNoMessage()
      // a routee with a full mailbox (size 1, busy in a call that never ends) refuses a routed call
      const Stuck = Process.make({
        name: "Stuck",
        init: () => Effect.void,
        handleCall: (_req: string) => Effect.never
      })
      const stuck = yield* env.spawn(Stuck, undefined, { mailboxSize: 1 })
      const single = yield* env.spawn(Router.behaviour(yield* Router.make(Router.roundRobin, [stuck])), undefined)
      const until = (what: string, check: (info: { status: string; mailbox: { main: number } }) => boolean) =>
        Effect.gen(function*() {
          for (let i = 0; i < 500; i++) {
            if (check(Option.getOrThrow(yield* env.node.info(stuck)))) return
            yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
          }
          return yield* Effect.dieMessage(`${what} did not happen within 2.5 s`)
        })
      yield* Effect.fork(env.call(single, "hang", "infinity"))
      yield* until("the routee to take the first call", (i) => i.status === "waiting")
      yield* Effect.fork(env.call(single, "queued", "infinity"))
      yield* until("the second call to queue", (i) => i.mailbox.main === 1)
      const refused = yield* Effect.flip(env.call(single, "third", "infinity"))
      assert.strictEqual(refused._tag, "MailboxFull")
    }))

  it.effect("a logic, routees or key from plain JS that are not one fail make with InvalidRouter saying what to give", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, unknown, string]> = [
        [null, names(2), "the logic is null: use Router.broadcast"],
        ["roundRobin", names(2), "the logic is \"roundRobin\""],
        [Router.roundRobin, null, "the routees are null: give an array"],
        [Router.roundRobin, "w0", "the routees are \"w0\""],
        [Router.roundRobin, [names(1)[0], 42], "routee 42 is not a pid or a name"],
        [Router.consistentHashing({} as any), names(2), "consistentHashing needs a key function"]
      ]
      for (const [logic, routees, expected] of cases) {
        const error = yield* Effect.flip(Router.make(logic as Router.Logic, routees as Array<P.Name>))
        assert.strictEqual(error._tag, "InvalidRouter")
        assert.include(error.message, expected)
      }
    }))

  it.scoped("Router.behaviour of something that is not a router fails the spawn with InvalidRouter (InitFailed)", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { level: "None" } })
      for (const notRouter of [null, undefined, { logic: Router.roundRobin }, "router"]) {
        const error = yield* Effect.flip(env.spawn(Router.behaviour(notRouter as any), undefined))
        assert.strictEqual(error._tag, "InitFailed")
        assert.include(error.message, "InvalidRouter")
        assert.include(error.message, "give it a router made with Router.make")
      }
    }))
})
