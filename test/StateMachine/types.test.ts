import { assert, describe, it } from "@effect/vitest"
import { Context, Effect } from "effect"
import { StateMachine, Testing } from "../../src/index.js"

// Compile-time checks: `npm test` runs tsc over this file, so a `@ts-expect-error` that
// stops being an error fails the build. The machines are only defined, never run.

type Door = {
  readonly locked: { readonly code: string; readonly entered: string }
  readonly open: { readonly code: string }
}
type Press = { readonly digit: string }
type Peek = { readonly _tag: "Peek" }

const { keepState, keepStateAndData, nextState, postpone, stateTimeout } = StateMachine

describe("StateMachine types", () => {
  it("a handler can only name states that exist, with that state's data", () => {
    const Good = StateMachine.make<Door, Press, Peek>()({
      name: "Good",
      init: (code: string) => Effect.succeed(nextState("locked", { code, entered: "" })),
      states: {
        locked: {
          handleMessage: (press, data) =>
            Effect.succeed(
              data.entered + press.digit === data.code
                ? nextState("open", { code: data.code }, [stateTimeout("10 seconds")])
                : keepState({ ...data, entered: data.entered + press.digit })
            ),
          handleCall: (_peek, from) => Effect.succeed(keepStateAndData([StateMachine.reply(from, "locked")]))
        },
        open: {
          enter: (data) => Effect.succeed(keepState(data, [stateTimeout("10 seconds")])),
          handleMessage: () => Effect.succeed(keepStateAndData([postpone()])),
          handleTimeout: (_t, data) => Effect.succeed(nextState("locked", { code: data.code, entered: "" }))
        }
      }
    })
    assert.strictEqual(Good.name, "Good")

    const Bad = StateMachine.make<Door, Press, Peek>()({
      name: "Bad",
      // @ts-expect-error init must start in a state that exists
      init: (code: string) => Effect.succeed(nextState("ajar", { code })),
      states: {
        locked: {
          // @ts-expect-error "opened" is not a state of Door
          handleMessage: (_press, data) => Effect.succeed(nextState("opened", { code: data.code })),
          // @ts-expect-error open's data has a code, not a digit
          handleCall: (_peek, _from, data) => Effect.succeed(nextState("open", { digit: data.code })),
          // @ts-expect-error keepState in locked needs locked's data (entered is missing)
          handleTimeout: (_t, data) => Effect.succeed(keepState({ code: data.code }))
        },
        open: {
          // @ts-expect-error enter cannot change state
          enter: (data) => Effect.succeed(nextState("locked", { code: data.code, entered: "" })),
          // @ts-expect-error a message handler gets a Press, which has no `key`
          handleMessage: (press) => Effect.succeed(keepStateAndData([press.key])),
          // @ts-expect-error locked's data needs `entered`
          handleCall: (_peek, _from, data) => Effect.succeed(nextState("locked", { code: data.code }))
        }
      }
    })
    assert.strictEqual(Bad.name, "Bad")

    const BadEnter = StateMachine.make<Door>()({
      name: "BadEnter",
      init: () => Effect.succeed(nextState("open", { code: "1" })),
      states: {
        // @ts-expect-error enter cannot postpone: there is no event to postpone
        open: { enter: () => Effect.succeed(keepStateAndData([postpone()])) },
        // @ts-expect-error enter cannot insert events either
        locked: { enter: () => Effect.succeed(keepStateAndData([StateMachine.nextEvent<Press>({ digit: "1" })])) }
      }
    })
    assert.strictEqual(BadEnter.name, "BadEnter")

    const Missing = StateMachine.make<Door>()({
      name: "Missing",
      init: () => Effect.succeed(nextState("locked", { code: "1", entered: "" })),
      // @ts-expect-error every state needs an entry in `states` (open is missing)
      states: { locked: {} }
    })
    assert.isDefined(Missing)
  })

  it.scoped("services a handler needs become the machine's requirements, provided by whoever spawns it", () =>
    Effect.gen(function*() {
      class Greeting extends Context.Tag("test/Greeting")<Greeting, string>() {}
      const Greeter = StateMachine.make<{ readonly idle: string }, Press, Peek>()({
        name: "Greeter",
        init: () => Effect.succeed(nextState("idle", "")),
        states: {
          idle: {
            handleMessage: (press) => Effect.map(Greeting, (hello) => keepState(`${hello} ${press.digit}`)),
            handleCall: (_peek, from, data) => Effect.succeed(keepStateAndData([StateMachine.reply(from, data)]))
          }
        }
      })
      const env = yield* Testing.make()
      const wrongOnPurpose = () =>
        // @ts-expect-error Greeting is not provided
        Effect.runPromise(env.spawn(Greeter, undefined))
      assert.isFunction(wrongOnPurpose)
      const ref = yield* env.spawn(Greeter, undefined).pipe(Effect.provideService(Greeting, "hello"))
      yield* env.send(ref, { digit: "7" })
      assert.strictEqual(yield* env.call(ref, { _tag: "Peek" }), "hello 7")
    }))

  it.scoped("the machine's ref is typed with its messages and requests, as any process's", () =>
    Effect.gen(function*() {
      const Simple = StateMachine.make<{ readonly idle: number }, Press>()({
        name: "Simple",
        init: () => Effect.succeed(nextState("idle", 0)),
        states: { idle: { handleMessage: (_p, n) => Effect.succeed(keepState(n + 1)) } }
      })
      const env = yield* Testing.make()
      const ref = yield* env.spawn(Simple, undefined)
      yield* env.send(ref, { digit: "1" })
      const wrongOnPurpose = () => [
        // @ts-expect-error a number is not a message Simple accepts
        env.send(ref, 1)
      ]
      assert.isFunction(wrongOnPurpose)
    }))
})
