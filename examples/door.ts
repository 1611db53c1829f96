/**
 * gen_statem's classic code lock as a Rain state machine: the door is `locked` until the
 * right code is pressed, then `open` for a while (a state timeout) before it locks again.
 * Buttons pressed while it is open, and `WhenLocked` calls, are postponed until it locks.
 *
 *   npx tsx examples/door.ts
 */
import type { Duration } from "effect"
import { Console, Effect, Schema } from "effect"
import { Node, StateMachine } from "rain"

/** A button press (a plain message). */
export class Button extends Schema.TaggedClass<Button>()("Button", { digit: Schema.String }) {}

/** Which state the door is in. */
export class Status extends Schema.TaggedRequest<Status>()("Status", {
  failure: Schema.Never,
  success: Schema.Struct({ state: Schema.String, entered: Schema.String }),
  payload: {}
}) {}

/** Replies once the door is locked (at once if it is). */
export class WhenLocked extends Schema.TaggedRequest<WhenLocked>()("WhenLocked", {
  failure: Schema.Never,
  success: Schema.Literal("locked"),
  payload: {}
}) {}

/** Each state's data: what `locked` remembers is not what `open` needs. */
export type DoorStates = {
  readonly locked: { readonly code: string; readonly openFor: Duration.DurationInput; readonly entered: string }
  readonly open: { readonly code: string; readonly openFor: Duration.DurationInput }
}

const locked = (code: string, openFor: Duration.DurationInput) => ({ code, openFor, entered: "" })

export const Door = StateMachine.make<DoorStates, Button, Status | WhenLocked>()({
  name: "Door",
  init: (options: { readonly code: string; readonly openFor: Duration.DurationInput }) =>
    Effect.succeed(StateMachine.nextState("locked", locked(options.code, options.openFor))),
  states: {
    locked: {
      enter: () => Effect.as(Console.log("🔒 locked"), StateMachine.keepStateAndData()),
      handleMessage: (button, data) => {
        // The last digits pressed, as many as the code has.
        const entered = (data.entered + button.digit).slice(-data.code.length)
        if (entered === data.code) return Effect.succeed(StateMachine.nextState("open", { code: data.code, openFor: data.openFor }))
        // Forget a half-typed code after 5 s without a press (an event timeout: any event cancels it).
        return Effect.succeed(StateMachine.keepState({ ...data, entered }, [StateMachine.eventTimeout("5 seconds")]))
      },
      handleCall: (request, from, data) =>
        Effect.succeed(StateMachine.keepStateAndData([
          StateMachine.reply(from, request._tag === "Status" ? { state: "locked", entered: data.entered } : "locked")
        ])),
      handleTimeout: (_timeout, data) => Effect.succeed(StateMachine.keepState({ ...data, entered: "" }))
    },
    open: {
      enter: (data) =>
        Effect.as(Console.log("🔓 open"), StateMachine.keepStateAndData([StateMachine.stateTimeout(data.openFor, "lock")])),
      // A button pressed while open counts once the door has locked again.
      handleMessage: () => Effect.succeed(StateMachine.keepStateAndData([StateMachine.postpone()])),
      handleCall: (request, from) =>
        Effect.succeed(StateMachine.keepStateAndData([
          request._tag === "Status" ? StateMachine.reply(from, { state: "open", entered: "" }) : StateMachine.postpone()
        ])),
      handleTimeout: (_timeout, data) => Effect.succeed(StateMachine.nextState("locked", locked(data.code, data.openFor)))
    }
  }
})

const press = (node: Node.NodeService, digits: string) =>
  Effect.forEach(digits, (digit) => node.send("door", new Button({ digit })), { discard: true })

Node.runMain("door@localhost", {}, (node) =>
  Effect.gen(function*() {
    const door = yield* node.spawn(Door, { code: "1234", openFor: "300 millis" }, { name: "door" })
    yield* press(node, "129")
    yield* Console.log("after 1 2 9:", yield* node.call(door, new Status()))
    yield* press(node, "1234")
    yield* Console.log("after 1 2 3 4:", yield* node.call(door, new Status()))
    yield* press(node, "7")
    yield* node.call(door, new Status()) // answered after the 7 was handled (postponed)
    const info = yield* node.info(door)
    if (info._tag === "Some") yield* Console.log("node.info state:", info.value.detail)
    // Postponed while open: answered once the state timeout has locked the door.
    yield* Console.log("waiting:", yield* node.call(door, new WhenLocked(), "5 seconds"))
    // The 7 pressed while open was retried after the door locked, before any newer message.
    const after = yield* node.call(door, new Status())
    yield* Console.log("after relock:", after)
    if (after.state !== "locked" || after.entered !== "7") return yield* Effect.die(new Error("the door misbehaved"))
    yield* node.stop
  }))
