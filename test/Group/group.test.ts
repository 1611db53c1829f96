import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Exit, Layer, Option, Scope } from "effect"
import { Group, Node, Process } from "../../src/index.js"
import type { Process as P } from "../../src/index.js"
import * as Testing from "../testing.js"
import { cluster } from "../fixtures/dist.js"
import { GroupWatcher, Member } from "../fixtures/groups.js"
import { eventually } from "../Process/helpers.js"

const sorted = (pids: ReadonlyArray<P.Pid>) => pids.map(String).sort()
const isJoined = (u: unknown): u is Group.Joined => u instanceof Group.Joined
const isLeft = (u: unknown): u is Group.Left => u instanceof Group.Left

/** Waits until `read` gives the pids `expected` (as a multiset). */
const converges = (read: Effect.Effect<ReadonlyArray<P.Pid>, unknown>, expected: ReadonlyArray<P.Pid>, what: string) =>
  eventually(
    Effect.map(Effect.orDie(read), (pids) => (sorted(pids).join() === sorted(expected).join() ? pids : undefined)),
    what
  )

describe("Group on one node", () => {
  it.scopedLive("join (twice), members, localMembers, leave one at a time, not joined, a dead member leaves", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { level: "None" } })
      const node = env.node
      yield* Group.start(node)
      const m1 = yield* env.spawn(Member, { group: "workers" })
      const m2 = yield* env.spawn(Member, { group: "workers" })
      yield* Group.join(node, "workers", m1)
      assert.deepStrictEqual(sorted(yield* Group.members(node, "workers")), sorted([m1, m1, m2]))
      assert.deepStrictEqual(sorted(yield* Group.localMembers(node, "workers")), sorted([m1, m1, m2]))
      assert.deepStrictEqual(yield* Group.whichGroups(node), ["workers"])
      assert.deepStrictEqual(yield* Group.whichLocalGroups(node), ["workers"])
      assert.isTrue(yield* Group.leave(node, "workers", m1))
      assert.deepStrictEqual(sorted(yield* Group.members(node, "workers")), sorted([m1, m2]))
      assert.isTrue(yield* Group.leave(node, "workers", m1))
      assert.isFalse(yield* Group.leave(node, "workers", m1), "not joined any more")
      assert.isFalse(yield* Group.leave(node, "nobody-here", m1))
      // a member that ends leaves every group, as many times as it joined
      yield* Group.join(node, ["workers", "other"][1]!, [m2, m2])
      yield* env.node.exit(m2, Process.ExitReason.kill)
      yield* converges(Group.members(node, "workers"), [], "m2 leaves workers")
      yield* converges(Group.members(node, "other"), [], "m2 leaves other")
      assert.deepStrictEqual(yield* Group.whichGroups(node), [])
      // a scope of another name is separate
      yield* Group.start(node, { scope: "second" })
      yield* Group.join(node, "workers", m1, { scope: "second" })
      assert.deepStrictEqual(yield* Group.members(node, "workers"), [])
      assert.deepStrictEqual(yield* Group.members(node, "workers", { scope: "second" }), [m1])
      // starting twice returns the running scope
      assert.deepStrictEqual(yield* Group.start(node, { scope: "second" }), yield* Group.start(node, { scope: "second" }))
    }))

  it.scopedLive("bad input: a scope not started, a pid of another node, empty names", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { level: "None" } })
      const node = env.node
      const notStarted = yield* Effect.either(Group.members(node, "workers"))
      assert.isTrue(Either.isLeft(notStarted) && notStarted.left._tag === "ScopeNotStarted")
      assert.include(Either.isLeft(notStarted) ? notStarted.left.message : "", "Group.start")
      yield* Group.start(node)
      const foreign = new Process.Pid({ node: "elsewhere@localhost", id: 7, creation: 1 })
      const notLocal = yield* Effect.either(Group.join(node, "workers", foreign))
      assert.isTrue(Either.isLeft(notLocal) && notLocal.left._tag === "NotLocal")
      const stale = new Process.Pid({ node: node.name, id: env.probe.id, creation: node.creation + 1 })
      const staleJoin = yield* Effect.either(Group.join(node, "workers", stale))
      assert.isTrue(Either.isLeft(staleJoin) && staleJoin.left._tag === "NotLocal")
      const empty = yield* Effect.either(Group.join(node, "", env.probe))
      assert.isTrue(Either.isLeft(empty) && empty.left._tag === "InvalidGroup")
      const emptyScope = yield* Effect.either(Group.start(node, { scope: "" }))
      assert.isTrue(Either.isLeft(emptyScope) && emptyScope.left._tag === "InvalidGroup")
      assert.deepStrictEqual(yield* Group.members(node, "workers"), [])
      // from plain JS: a scope, group or node that is not one is a typed InvalidGroup, never a TypeError
      const wrong: ReadonlyArray<readonly [Effect.Effect<unknown, unknown>, string]> = [
        [Group.start(node, { scope: 42 as any }), `Invalid scope "42"`],
        [Group.members(node, 42 as any), `Invalid group "42"`],
        [Group.localMembers(node, undefined as any), `Invalid group "undefined"`],
        [Group.join(node, null as any, env.probe), `Invalid group "null"`],
        [Group.members(null as any, "workers"), "Invalid node or ctx null: pass the node"],
        [Group.whichGroups(undefined as any), "Invalid node or ctx undefined"],
        [Group.start(null as any), "Invalid node or ctx null"]
      ]
      for (const [effect, expected] of wrong) {
        const error = yield* Effect.flip(effect)
        assert.strictEqual((error as { _tag?: unknown })._tag, "InvalidGroup")
        assert.include((error as Error).message, expected)
      }
    }))

  it.scopedLive("monitor and monitorScope report joins and leaves with their reference; demonitor stops them", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { level: "None" } })
      const node = env.node
      yield* Group.start(node)
      const m1 = yield* env.spawn(Member, { group: "workers" })
      const watcher = yield* env.spawn(GroupWatcher, { group: "workers", to: env.probe })
      const first = (yield* env.receive("5 seconds")) as { ref: P.Reference; members: ReadonlyArray<P.Pid> }
      assert.deepStrictEqual(first.members, [m1])
      yield* env.spawn(GroupWatcher, { to: env.probe })
      const scoped = (yield* env.receive("5 seconds")) as { ref: P.Reference; groups: ReadonlyMap<string, ReadonlyArray<P.Pid>> }
      assert.deepStrictEqual(scoped.groups.get("workers"), [m1])
      const m2 = yield* env.spawn(Member, { group: "workers" })
      const j1 = yield* env.receiveMatching(isJoined, "5 seconds")
      const j2 = yield* env.receiveMatching(isJoined, "5 seconds")
      assert.deepStrictEqual(sorted([j1.ref, j2.ref] as any), sorted([first.ref, scoped.ref] as any))
      assert.deepStrictEqual([j1.pids, j2.pids], [[m2], [m2]])
      yield* Group.join(node, "elsewhere", m2)
      const other = yield* env.receiveMatching(isJoined, "5 seconds")
      assert.deepStrictEqual(other.ref, scoped.ref, "only the scope monitor hears of another group")
      assert.strictEqual(other.group, "elsewhere")
      yield* env.node.exit(m1, Process.ExitReason.kill)
      const left = [yield* env.receiveMatching(isLeft, "5 seconds"), yield* env.receiveMatching(isLeft, "5 seconds")]
      assert.deepStrictEqual(left.map((l) => l.pids), [[m1], [m1]])
      yield* env.send(watcher, "demonitor")
      assert.deepStrictEqual(yield* env.receiveMatching((u): u is { demonitored: boolean } => typeof u === "object" && u !== null && "demonitored" in u, "5 seconds"), { demonitored: true })
      yield* env.node.exit(m2, Process.ExitReason.kill)
      // only the scope monitor: leaves of m2 from "workers" and "elsewhere"
      const after = [yield* env.receiveMatching(isLeft, "5 seconds"), yield* env.receiveMatching(isLeft, "5 seconds")]
      assert.isTrue(after.every((l) => l.ref.id === scoped.ref.id))
      yield* env.expectNoMessage("200 millis")
    }))
})

describe("Group.layer", () => {
  it.scopedLive("starts the scope with the layer and stops it on release", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make({ log: { level: "None" } })
      const node = env.node
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(Group.layer({ scope: "layered" }), scope).pipe(Effect.provideService(Node.Node, node))
      const pid = yield* node.whereis("rain/group/layered")
      assert.isTrue(Option.isSome(pid))
      yield* Group.join(node, "g", env.probe, { scope: "layered" })
      assert.deepStrictEqual(yield* Group.members(node, "g", { scope: "layered" }), [env.probe])
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual((yield* env.exitReason(Option.getOrThrow(pid)))._tag, "shutdown")
      const gone = yield* Effect.either(Group.members(node, "g", { scope: "layered" }))
      assert.isTrue(Either.isLeft(gone) && gone.left._tag === "ScopeNotStarted")
    }))
})

describe("Group across nodes (TCP on 127.0.0.1)", () => {
  it.scopedLive("memberships converge, a node's members leave when it disconnects and come back when it reconnects", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1")
      yield* Group.start(a.node)
      const a1 = yield* a.spawn(Member, { group: "workers" })
      const b1 = yield* b.spawn(Member, { group: "workers" }).pipe(Effect.catchAllDefect(() => Effect.die("unreachable")), Effect.either)
      // b has no scope yet: its Member fails to join
      assert.isTrue(Either.isLeft(b1))
      yield* a.node.connect("b@127.0.0.1")
      // b's scope, started after the connection, discovers a's
      yield* Group.start(b.node)
      const b2 = yield* b.spawn(Member, { group: "workers" })
      const watcher = yield* a.spawn(GroupWatcher, { group: "workers", to: a.probe })
      yield* a.receive("5 seconds")
      yield* converges(Group.members(a.node, "workers"), [a1, b2], "a sees b's member")
      yield* converges(Group.members(b.node, "workers"), [a1, b2], "b sees a's member")
      assert.deepStrictEqual(yield* Group.localMembers(a.node, "workers"), [a1])
      const about = (pid: P.Pid) => (u: unknown): u is Group.Joined | Group.Left =>
        (isJoined(u) || isLeft(u)) && u.pids.some((p) => String(p) === String(pid))
      const next = (pid: P.Pid) => Effect.map(a.receiveMatching(about(pid), "5 seconds"), (m) => m._tag)
      assert.strictEqual(yield* next(b2), "GroupJoined")
      yield* b.node.exit(b2, Process.ExitReason.kill)
      yield* converges(Group.members(a.node, "workers"), [a1], "b's dead member leaves on a")
      assert.strictEqual(yield* next(b2), "GroupLeft")
      const b3 = yield* b.spawn(Member, { group: "workers" })
      yield* converges(Group.members(a.node, "workers"), [a1, b3], "a new member of b joins on a")
      assert.strictEqual(yield* next(b3), "GroupJoined")
      // b goes away: its members leave a's view, and a's monitor hears of it
      yield* b.node.disconnect("a@127.0.0.1")
      yield* converges(Group.members(a.node, "workers"), [a1], "b's members leave when b disconnects")
      yield* converges(Group.members(b.node, "workers"), [b3], "a's members leave b's view")
      assert.strictEqual(yield* next(b3), "GroupLeft")
      // and they come back when it reconnects
      yield* b.node.connect("a@127.0.0.1")
      yield* converges(Group.members(a.node, "workers"), [a1, b3], "b's members rejoin a's view")
      yield* converges(Group.members(b.node, "workers"), [a1, b3], "a's members rejoin b's view")
      assert.strictEqual(yield* next(b3), "GroupJoined")
      yield* a.expectNoMessage("200 millis")
      assert.isTrue((yield* a.node.info(watcher))._tag === "Some")
    }), 60_000)
})
