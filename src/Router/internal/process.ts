/**
 * The router process (Akka's group router): forwards each message and call to the routees
 * its router value picks, a call with its caller's reply address (see `Pool/internal/forward`).
 *
 * Hot path: `handleMessage` and `handleCall` run once per routed message.
 *
 * @internal
 */
import { Effect } from "effect"
import type { Behaviour } from "../../Process/Behaviour.js"
import { noReply, reply, replyError } from "../../Process/Behaviour.js"
import type { Context } from "../../Process/Context.js"
import type { From } from "../../Process/Message.js"
import type { Name, Pid } from "../../Process/Pid.js"
import { forward, FULL, PLACED, procOf, refusal } from "../../Node/internal/forward.js"
import { GetRoutees, SetRoutees } from "../Protocol.js"
import type { Router } from "./core.js"
import { make as makeRouter, route } from "./core.js"
import { InvalidRouter } from "../errors.js"

/** Forwards to the routees the logic picks; a broadcast call leaves the caller's bookkeeping with the router. */
const dispatch = (router: Router<any, any>, ctx: Context<any, any>, message: unknown, from: From | undefined) =>
  Effect.flatMap(Effect.either(route(router, message)), (routed) => {
    if (routed._tag === "Left") {
      return from === undefined ? Effect.logWarning(routed.left.message) : ctx.replyError(from, routed.left)
    }
    const targets = routed.right as ReadonlyArray<Pid | Name | string>
    const { kernel, proc } = procOf(ctx.self)
    const single = targets.length === 1
    let answered = false
    let firstError: unknown = undefined
    for (const target of targets) {
      const outcome = forward(kernel, proc, target, message, from, single)
      if (outcome === PLACED) answered = true
      else if (firstError === undefined) firstError = outcome === FULL ? refusal(kernel, target) : outcome.error
    }
    // a call that reached no routee fails now; a message is dropped, as a send to a dead or full process
    if (answered || from === undefined || firstError === undefined) return Effect.void
    return ctx.replyError(from, firstError)
  })

/** The router process's behaviour. */
/** A router from plain JS that is one (made by `Router.make`). */
const isRouter = (router: unknown): router is Router<any, any> =>
  typeof router === "object" && router !== null && Array.isArray((router as { routees?: unknown }).routees) &&
  typeof (router as { logic?: { _tag?: unknown } }).logic?._tag === "string"

export const make = (
  router: Router<any, any>,
  options: { readonly name?: string | undefined; readonly mailboxSize?: number | undefined } | undefined
): Behaviour<Router<any, any>, void, any, any, InvalidRouter, never> => ({
  name: options?.name ?? (isRouter(router) ? `Router(${router.logic._tag})` : "Router"),
  init: () =>
    isRouter(router)
      ? Effect.succeed(router)
      : Effect.fail(
        new InvalidRouter({ reason: `Router.behaviour was given ${String(router)}: give it a router made with Router.make` })
      ),
  handleMessage: (message: unknown, state, ctx) => Effect.as(dispatch(state, ctx, message, undefined), state),
  handleCall: (request: unknown, from, state, ctx) => {
    if (request instanceof SetRoutees) {
      return makeRouter(state.logic, request.routees).pipe(
        Effect.match({ onFailure: (error) => replyError(error, state), onSuccess: (next) => reply(next.routees.length, next) })
      )
    }
    if (request instanceof GetRoutees) return Effect.succeed(reply(state.routees, state))
    return Effect.as(dispatch(state, ctx, request, from), noReply(state))
  },
  describe: (state) => ({ logic: state.logic._tag, routees: state.routees.length }),
  options: options?.mailboxSize === undefined ? undefined : { mailboxSize: options.mailboxSize }
})
