import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Option, TestClock } from "effect"
import { Process, StateMachine, Supervisor, Testing } from "../../src/index.js"
import type { Ask, Step } from "./helpers.js"
import { DeafInB, go, Scripted, step } from "./helpers.js"

const { keepState, keepStateAndData, nextState, postpone, reply } = StateMachine

/** Receives `n` probe messages in order; on a missing one, fails saying what did arrive. */
const receiveN = (env: Testing.TestEnv, n: number) =>
  Effect.suspend(() => {
    const got: Array<unknown> = []
    return Effect.forEach(Array.from({ length: n }), () => Effect.tap(env.receive(), (m) => got.push(m))).pipe(
      Effect.catchTag("NoMessage", () => Effect.die(new Error(`expected ${n} messages, got only ${JSON.stringify(got)}`)))
    )
  })

const crashTag = (reason: Process.Reason): string | undefined => {
  if (reason._tag !== "error") return undefined
  const failure = reason.cause._tag === "Fail" ? reason.cause.error : undefined
  return (failure as { _tag?: string } | undefined)?._tag
}

describe("StateMachine transitions", () => {
  it.scoped("enter runs after init (previous = itself) and on every change of state, with the state left", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      assert.strictEqual(yield* env.receive(), "a:enter:a")
      yield* env.send(sm, step("go-b", go("b")))
      yield* env.send(sm, step("stay", (n) => keepState(n + 10)))
      yield* env.send(sm, step("go-c", go("c")))
      assert.deepStrictEqual(yield* receiveN(env, 5), ["a:go-b", "b:enter:a", "b:stay", "b:go-c", "c:enter:b"])
      const snapshot = (yield* env.state<StateMachine.Snapshot<any>>(sm)).pipe(Option.getOrThrow)
      assert.strictEqual(snapshot.state, "c")
      assert.strictEqual(snapshot.data, 12)
    }))

  it.scoped("nextState to the same state and keepState do not run enter; repeatState does", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      yield* env.send(sm, step("same", go("a")))
      yield* env.send(sm, step("keep", (n) => keepState(n)))
      yield* env.send(sm, step("repeat", (n) => StateMachine.repeatState(n + 1)))
      yield* env.send(sm, step("repeat-same", () => StateMachine.repeatStateAndData()))
      assert.deepStrictEqual(yield* receiveN(env, 6), [
        "a:same",
        "a:keep",
        "a:repeat",
        "a:enter:a",
        "a:repeat-same",
        "a:enter:a"
      ])
      assert.strictEqual((yield* env.state<StateMachine.Snapshot<any>>(sm)).pipe(Option.getOrThrow).data, 2)
    }))

  it.scoped("node.info reports the current state, its data and the postponed count", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.send(sm, step("later", () => keepStateAndData([postpone()])))
      yield* env.send(sm, step("go-b", (n) => keepState(n + 5)))
      yield* env.call(sm, { tag: "sync" })
      const info = (yield* env.node.info(sm)).pipe(Option.getOrThrow)
      assert.deepStrictEqual(info.detail, { state: "a", data: 5, postponed: 1 })
      assert.strictEqual(info.behaviour, "Scripted")
    }))

  it.scoped("stop ends the process with its reason after its replies; terminate sees the final state and data", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      const answer = yield* env.call(sm, {
        tag: "bye",
        then: (from) => StateMachine.stop(Process.ExitReason.shutdown, { data: 42, replies: [reply(from, "bye")] })
      })
      assert.strictEqual(answer, "bye")
      assert.deepStrictEqual(yield* receiveN(env, 2), ["a:call:bye", "terminate:a:42:shutdown"])
      assert.strictEqual((yield* env.exitReason(sm))._tag, "shutdown")
    }))

  it.scoped("events queued behind a stop are not handled", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      // Entering b stops the machine: neither the postponed "later" nor "never" may run.
      const sm = yield* env.spawn(Scripted, { probe: env.probe, enter: { b: () => StateMachine.stop() } })
      yield* env.receive()
      yield* env.send(sm, step("later", () => keepStateAndData([postpone()])))
      yield* env.send(sm, step("go-b", go("b")))
      yield* env.send(sm, step("never"))
      assert.deepStrictEqual(yield* receiveN(env, 4), ["a:later", "a:go-b", "b:enter:a", "terminate:b:1:normal"])
      assert.strictEqual((yield* env.exitReason(sm))._tag, "normal")
      yield* env.expectNoMessage("20 millis")
    }))
})

describe("StateMachine postpone", () => {
  it.scoped("postponed events are retried after a state change, in order, before newer messages", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      const later = (tag: string) =>
        step(tag, () => keepStateAndData([postpone()]))
      // All of these are in the mailbox before the machine handles the first one.
      yield* Effect.forEach([later("p1"), later("p2"), step("go-b", go("b")), step("n1"), later("p3")], (m) =>
        env.send(sm, m))
      assert.deepStrictEqual(yield* receiveN(env, 8), [
        "a:p1",
        "a:p2",
        "a:go-b",
        "b:enter:a",
        "b:p1",
        "b:p2",
        "b:n1",
        "b:p3"
      ])
    }))

  it.scoped("an event postponed by the transition that changes state is retried right after the older ones", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      yield* env.send(sm, step("p1", () => keepStateAndData([postpone()])))
      yield* env.send(sm, step("go-b-and-postpone", (n) => nextState("b", n, [postpone()])))
      yield* env.send(sm, step("n1"))
      // In b, the retried "go-b-and-postpone" goes to c; p1 (already retried) does not come back.
      assert.deepStrictEqual(yield* receiveN(env, 6), [
        "a:p1",
        "a:go-b-and-postpone",
        "b:enter:a",
        "b:p1",
        "b:go-b-and-postpone",
        "b:n1"
      ])
    }))

  it.scoped("a retried event that changes state again keeps the original order of the events still queued", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      // Data 0 in a, 1 in b, 2 in c. In b, x1 postpones itself again and moves on to c while x2 is still queued.
      const x1 = step("x1", (n) => (n === 0 ? keepStateAndData([postpone()]) : n === 1 ? nextState("c", 2, [postpone()]) : keepStateAndData()))
      const x2 = step("x2", (n) => (n === 0 ? keepStateAndData([postpone()]) : keepStateAndData()))
      yield* Effect.forEach([x1, x2, step("go-b", go("b"))], (m) => env.send(sm, m))
      assert.deepStrictEqual(yield* receiveN(env, 8), [
        "a:x1",
        "a:x2",
        "a:go-b",
        "b:enter:a",
        "b:x1",
        "c:enter:b",
        "c:x1",
        "c:x2"
      ])
    }))

  it.scoped("postponed events stay postponed across keepState and repeatState", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      yield* env.send(sm, step("p1", (n) => (n === 0 ? keepStateAndData([postpone()]) : keepStateAndData())))
      yield* env.send(sm, step("keep", (n) => keepState(n)))
      yield* env.send(sm, step("repeat", () => StateMachine.repeatStateAndData()))
      assert.deepStrictEqual(yield* receiveN(env, 4), ["a:p1", "a:keep", "a:repeat", "a:enter:a"])
      yield* env.expectNoMessage("20 millis")
      const info = (yield* env.node.info(sm)).pipe(Option.getOrThrow)
      assert.strictEqual((info.detail as StateMachine.Snapshot<any>).postponed, 1)
      yield* env.send(sm, step("go-b", go("b")))
      assert.deepStrictEqual(yield* receiveN(env, 3), ["a:go-b", "b:enter:a", "b:p1"])
    }))

  it.scoped("nextEvent: inserted events come first, in order, then the retried postponed ones, then the mailbox", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      yield* env.send(sm, step("p1", (n) => (n === 0 ? keepStateAndData([postpone()]) : keepStateAndData())))
      yield* env.send(sm, step("go-b", go("b", [StateMachine.nextEvent(step("i1")), StateMachine.nextEvent(step("i2"))])))
      yield* env.send(sm, step("n1"))
      assert.deepStrictEqual(yield* receiveN(env, 7), ["a:p1", "a:go-b", "b:enter:a", "b:i1", "b:i2", "b:p1", "b:n1"])
      // Without a change of state too, and an inserted event cancels the event timeout like any event.
      yield* env.send(sm, step("again", () =>
        keepStateAndData([StateMachine.eventTimeout(0, "never"), StateMachine.nextEvent(step("i3"))])))
      yield* env.send(sm, step("n2"))
      assert.deepStrictEqual(yield* receiveN(env, 3), ["b:again", "b:i3", "b:n2"])
      yield* env.expectNoMessage("10 millis")
      // Not from enter: there is no event to follow.
      const sm2 = yield* env.spawn(Scripted, {
        probe: env.probe,
        enter: { b: () => keepStateAndData([StateMachine.nextEvent(step("x")) as any]) }
      })
      yield* env.send(sm2, step("go-b", go("b")))
      assert.strictEqual(crashTag(yield* env.exitReason(sm2)), "InvalidTransition")
    }))

  it.scoped("a postponed call is answered after the state change; other callers are not held up", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      const ask: Ask = {
        tag: "when-b",
        then: (from, n) => (n === 0 ? keepStateAndData([postpone()]) : keepStateAndData([reply(from, `in b after ${n}`)]))
      }
      const waiting = yield* Effect.fork(env.call(sm, ask))
      assert.strictEqual(yield* env.receive(), "a:call:when-b")
      assert.strictEqual(yield* env.call(sm, { tag: "now" }), "a")
      yield* env.send(sm, step("go-b", go("b")))
      assert.strictEqual(yield* waiting.await.pipe(Effect.flatten), "in b after 1")
    }))
})

describe("StateMachine replies", () => {
  it.scoped("a reply action answers the call; replyError fails it with the request's error", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      assert.strictEqual(yield* env.call(sm, { tag: "q" }), "a")
      assert.strictEqual(
        yield* env.call(sm, { tag: "move", then: (from, n) => nextState("c", n, [reply(from, "moved")]) }),
        "moved"
      )
      assert.strictEqual(yield* env.call(sm, { tag: "q" }), "c")
      const failed = yield* env.call(sm, {
        tag: "bad",
        then: (from) => keepStateAndData([StateMachine.replyError(from, "no such thing")])
      }).pipe(Effect.exit)
      assert.deepStrictEqual(failed as Exit.Exit<unknown, unknown>, Exit.fail("no such thing"))
    }))

  it.scoped("a deferred reply: the call waits while other events are handled, and is answered later", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      let kept: Process.From | undefined
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      const waiting = yield* Effect.fork(env.call(sm, {
        tag: "slow",
        then: (from) => {
          kept = from
          return keepStateAndData()
        }
      }))
      yield* env.receiveMatching((u): u is string => u === "a:call:slow")
      yield* env.send(sm, step("other"))
      yield* env.receiveMatching((u): u is string => u === "a:other")
      yield* env.send(sm, step("answer", (n) => nextState("b", n, [reply(kept!, "done")])))
      assert.strictEqual(yield* waiting.await.pipe(Effect.flatten), "done")
    }))
})

describe("StateMachine timeouts (TestClock)", () => {
  it.scoped("a state timeout fires after its time in the same state, with its content", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, {
        probe: env.probe,
        onTimeout: (t, _state, n) => (t._tag === "StateTimeout" ? nextState("a", n) : keepStateAndData())
      })
      yield* env.receive()
      yield* env.send(sm, step("go-b", go("b", [StateMachine.stateTimeout("1 second", "lock")])))
      assert.deepStrictEqual(yield* receiveN(env, 2), ["a:go-b", "b:enter:a"])
      // Events in the same state do not cancel it.
      yield* env.send(sm, step("x"))
      assert.strictEqual(yield* env.receive(), "b:x")
      yield* TestClock.adjust("999 millis")
      yield* env.expectNoMessage("10 millis")
      yield* TestClock.adjust("1 millis")
      assert.deepStrictEqual(yield* receiveN(env, 2), ["b:timeout:StateTimeout:lock", "a:enter:b"])
    }))

  it.scoped("a state change cancels the state timeout; setting it again restarts it", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      yield* env.send(sm, step("arm", () => keepStateAndData([StateMachine.stateTimeout("1 second", 1)])))
      yield* env.send(sm, step("go-b", go("b")))
      assert.deepStrictEqual(yield* receiveN(env, 3), ["a:arm", "a:go-b", "b:enter:a"])
      yield* TestClock.adjust("5 seconds")
      yield* env.expectNoMessage("10 millis")
      yield* env.send(sm, step("arm", () => keepStateAndData([StateMachine.stateTimeout("1 second", 2)])))
      yield* env.receive()
      yield* TestClock.adjust("600 millis")
      yield* env.send(sm, step("re-arm", () => keepStateAndData([StateMachine.stateTimeout("1 second", 3)])))
      yield* env.receive()
      yield* TestClock.adjust("600 millis")
      yield* env.expectNoMessage("10 millis")
      yield* TestClock.adjust("400 millis")
      assert.strictEqual(yield* env.receive(), "b:timeout:StateTimeout:3")
      yield* TestClock.adjust("5 seconds")
      yield* env.expectNoMessage("10 millis")
    }))

  it.scoped("a state timeout set by enter applies to the state entered; cancelStateTimeout stops it", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, {
        probe: env.probe,
        enter: { b: () => keepStateAndData([StateMachine.stateTimeout("2 seconds", "from-enter")]) }
      })
      yield* env.receive()
      yield* env.send(sm, step("go-b", go("b")))
      yield* receiveN(env, 2)
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* env.receive(), "b:timeout:StateTimeout:from-enter")
      yield* env.send(sm, step("repeat", () => StateMachine.repeatStateAndData()))
      yield* receiveN(env, 2)
      yield* env.send(sm, step("cancel", () => keepStateAndData([StateMachine.cancelStateTimeout()])))
      yield* env.receive()
      yield* TestClock.adjust("5 seconds")
      yield* env.expectNoMessage("10 millis")
    }))

  it.scoped("an event timeout fires after idleness and any event cancels it", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      const arm = step("arm", () => keepStateAndData([StateMachine.eventTimeout("1 second", "idle")]))
      yield* env.send(sm, arm)
      yield* env.receive()
      yield* TestClock.adjust("900 millis")
      // A call is an event: it cancels the timeout, and does not re-arm it.
      assert.strictEqual(yield* env.call(sm, { tag: "ping" }), "a")
      yield* env.receive()
      yield* TestClock.adjust("5 seconds")
      yield* env.expectNoMessage("10 millis")
      yield* env.send(sm, arm)
      yield* env.receive()
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* env.receive(), "a:timeout:EventTimeout:idle")
    }))

  it.scoped("an event timeout is cancelled by other timeouts firing, since they are events too", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      yield* env.send(sm, step("arm", () =>
        keepStateAndData([StateMachine.genericTimeout("g", "1 second"), StateMachine.eventTimeout("2 seconds")])))
      yield* env.receive()
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* env.receive(), "a:timeout:generic:g:undefined")
      yield* TestClock.adjust("5 seconds")
      yield* env.expectNoMessage("10 millis")
    }))

  it.scoped("named generic timeouts survive state changes, restart by name and cancel by name", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      yield* env.send(sm, step("arm", () =>
        keepStateAndData([
          StateMachine.genericTimeout("x", "1 second", "x1"),
          StateMachine.genericTimeout("y", "2 seconds", "y1"),
          StateMachine.genericTimeout("z", "3 seconds", "z1")
        ])))
      yield* env.send(sm, step("go-b", go("b")))
      yield* receiveN(env, 3)
      yield* env.send(sm, step("restart-y", () => keepStateAndData([StateMachine.genericTimeout("y", "4 seconds", "y2")])))
      yield* env.send(sm, step("cancel-z", () => keepStateAndData([StateMachine.cancelTimeout("z")])))
      yield* receiveN(env, 2)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* env.receive(), "b:timeout:generic:x:x1")
      yield* TestClock.adjust("2 seconds")
      yield* env.expectNoMessage("10 millis")
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* env.receive(), "b:timeout:generic:y:y2")
      yield* TestClock.adjust("10 seconds")
      yield* env.expectNoMessage("10 millis")
    }))

  it.scoped("a cancelled timeout whose message is already in the mailbox is dropped unseen", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      yield* env.send(sm, step("arm", () => keepStateAndData([StateMachine.stateTimeout("1 second", "stale")])))
      // Busy for 2 s: the state timer fires at 1 s into the mailbox, then this handler changes state.
      yield* env.send(sm, step("busy", go("b"), () => Effect.sleep("2 seconds")))
      yield* env.send(sm, step("after"))
      assert.deepStrictEqual(yield* receiveN(env, 2), ["a:arm", "a:busy"])
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(yield* receiveN(env, 2), ["b:enter:a", "b:after"])
      yield* TestClock.adjust("5 seconds")
      yield* env.expectNoMessage("20 millis")
    }))

  it.scoped("zero timeouts are handled before messages that arrived later; a zero event timeout only when nothing is queued", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      yield* env.send(sm, step("zero", () =>
        keepStateAndData([StateMachine.stateTimeout(0, "s0"), StateMachine.genericTimeout("g", 0, "g0")])))
      yield* env.send(sm, step("next"))
      assert.deepStrictEqual(yield* receiveN(env, 4), [
        "a:zero",
        "a:timeout:StateTimeout:s0",
        "a:timeout:generic:g:g0",
        "a:next"
      ])
      yield* env.send(sm, step("p", (n) => (n === 0 ? keepStateAndData([postpone()]) : keepStateAndData())))
      // The zero event timeout is dropped: the postponed "p" retried after the change is an event that cancels it.
      yield* env.send(sm, step("go-b", go("b", [StateMachine.eventTimeout(0, "e0")])))
      yield* env.send(sm, step("zero-e", () => keepStateAndData([StateMachine.eventTimeout(0, "e1")])))
      assert.deepStrictEqual(yield* receiveN(env, 6), [
        "a:p",
        "a:go-b",
        "b:enter:a",
        "b:p",
        "b:zero-e",
        "b:timeout:EventTimeout:e1"
      ])
      yield* env.expectNoMessage("10 millis")
    }))

  it.scoped("init can set timeouts (an open door that locks itself)", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      yield* env.spawn(Scripted, {
        probe: env.probe,
        initial: "b",
        initActions: [StateMachine.stateTimeout("1 minute", "auto")],
        onTimeout: (_t, _s, n) => nextState("a", n)
      })
      assert.strictEqual(yield* env.receive(), "b:enter:b")
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* receiveN(env, 2), ["b:timeout:StateTimeout:auto", "a:enter:b"])
    }))
})

describe("StateMachine failures", () => {
  it.scoped("an event the state has no handler for crashes the machine with EventNotHandled; its caller learns", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(DeafInB, { probe: env.probe })
      yield* env.receive()
      yield* env.send(sm, step("go-b", go("b")))
      yield* env.send(sm, step("unheard"))
      const reason = yield* env.exitReason(sm)
      assert.strictEqual(crashTag(reason), "EventNotHandled")
      const error = (reason as any).cause.error as StateMachine.EventNotHandled
      assert.strictEqual(error.state, "b")
      assert.strictEqual(error.event, "message")
      assert.include(error.message, "handleMessage")
      const call = yield* env.call(sm, { tag: "late" }).pipe(Effect.flip)
      assert.strictEqual(call._tag, "ProcessUnknown")
    }))

  it.scoped("a transition to a state that does not exist crashes with UnknownState naming the known ones", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.send(sm, step("bad", (n) => nextState("nowhere" as "a", n)))
      const reason = yield* env.exitReason(sm)
      assert.strictEqual(crashTag(reason), "UnknownState")
      assert.include((reason as any).cause.error.message, "a, b, c")
    }))

  it.scoped("a handler returning something else, or enter postponing, crashes with InvalidTransition", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.send(sm, step("garbage", () => 42 as any))
      assert.strictEqual(crashTag(yield* env.exitReason(sm)), "InvalidTransition")
      const sm2 = yield* env.spawn(Scripted, {
        probe: env.probe,
        enter: { b: () => keepStateAndData([postpone() as any]) }
      })
      yield* env.send(sm2, step("go-b", go("b")))
      const reason = yield* env.exitReason(sm2)
      assert.strictEqual(crashTag(reason), "InvalidTransition")
      assert.include((reason as any).cause.error.message, "postpone is not allowed in enter")
    }))

  it.scoped("a failing handler crashes the machine like any process, and a caller gets ProcessExited", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawnLink(Scripted, { probe: env.probe })
      yield* env.receive()
      const result = yield* env.call(sm, {
        tag: "boom",
        then: () => {
          throw new Error("boom")
        }
      }).pipe(Effect.flip)
      assert.strictEqual(result._tag, "ProcessExited")
      const exit = yield* env.receiveMatching((u): u is Process.Exit => u instanceof Process.Exit)
      assert.strictEqual(exit.reason._tag, "error")
    }))

  it.scoped("init stopping from its enter call fails the spawn with InitFailed", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const failed = yield* env.spawn(Scripted, {
        probe: env.probe,
        enter: { a: () => StateMachine.stop(Process.ExitReason.shutdownWith("not today")) }
      }).pipe(Effect.flip)
      assert.strictEqual(failed._tag, "InitFailed")
    }))
})

describe("StateMachine as a process", () => {
  it.scoped("a supervisor restarts a crashed machine in its initial state", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const tree = Supervisor.oneForOne({ intensity: 3, period: "5 seconds" }).pipe(
        Supervisor.child({ id: "sm", behaviour: Scripted, args: { probe: env.probe }, name: "sm" })
      )
      yield* Supervisor.start(env.node, tree)
      assert.strictEqual(yield* env.receive(), "a:enter:a")
      yield* env.send<Step>("sm", step("go-c", go("c")))
      yield* receiveN(env, 2)
      const first = (yield* env.node.whereis("sm")).pipe(Option.getOrThrow)
      yield* env.send<Step>("sm", step("crash", () => {
        throw new Error("crash on purpose")
      }))
      assert.deepStrictEqual(yield* receiveN(env, 3), ["c:crash", "terminate:c:1:error", "a:enter:a"])
      const second = (yield* env.node.whereis("sm")).pipe(Option.getOrThrow)
      assert.notStrictEqual(second.id, first.id)
      assert.strictEqual(yield* env.call("sm", { tag: "where" } as Ask), "a")
    }))

  it.scoped("links and monitors work as for any process, and info events reach the state's handleInfo", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const sm = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      yield* env.monitor(sm)
      const other = yield* env.spawn(Scripted, { probe: env.probe })
      yield* env.receive()
      // The machine monitors `other`; the Down arrives in its current state's handleInfo.
      yield* env.send(sm, step("watch", (n) => keepState(n), (ctx) => ctx.monitor(other)))
      yield* env.receive()
      yield* env.node.exit(other, Process.ExitReason.kill)
      assert.strictEqual(yield* env.receiveMatching((u): u is string => u === "a:info:Down"), "a:info:Down")
      yield* env.node.exit(sm, Process.ExitReason.kill)
      const down = yield* env.receiveMatching((u): u is Process.Down => u instanceof Process.Down)
      assert.strictEqual(down.reason._tag, "killed")
    }))
})
