/**
 * The test kit: a node for one test, with a probe process that collects everything
 * sent to it, captured logs, and helpers to await messages and exits. Time comes from
 * the test's Clock, so under `it.effect`/`it.scoped` `TestClock.adjust` drives
 * `receive` timeouts, `sendAfter` and call timeouts.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Process, Testing } from "rain"
 *
 * const Echo = Process.make({
 *   name: "Echo",
 *   init: () => Effect.void,
 *   handleMessage: (msg: { replyTo: Process.Pid; text: string }, state, ctx) => Effect.as(ctx.send(msg.replyTo, msg.text), state)
 * })
 *
 * // in a test file: it.scoped("echoes", () => echoes)
 * export const echoes = Effect.gen(function*() {
 *   const env = yield* Testing.make()
 *   const echo = yield* env.spawn(Echo, undefined)
 *   yield* env.send(echo, { replyTo: env.probe, text: "hi" })
 *   const reply = yield* env.receive()
 *   if (reply !== "hi") return yield* Effect.dieMessage(`expected "hi", got ${String(reply)}`)
 * })
 *
 * Effect.runPromise(Effect.scoped(echoes))
 * ```
 * @since 0.1.0
 */
import type { Scope } from "effect"
import { Duration, Effect, HashMap, Logger, Option, Queue, Schema } from "effect"
import type { NodeOptions, NodeService } from "../Node/index.js"
import * as Node from "../Node/index.js"
import type { Behaviour, CallTimeout, FailureOf, SpawnOptions, SuccessOf } from "../Process/Behaviour.js"
import { make as makeBehaviour } from "../Process/Behaviour.js"
import type { SendError } from "../Process/Context.js"
import type { CallError, SpawnError } from "../Process/errors.js"
import type { ExitReason } from "../Process/ExitReason.js"
import type { Address, Pid, Ref } from "../Process/Pid.js"
import { kernelOf } from "../Node/internal/kernel.js"
import { EXITING } from "../Node/internal/proc.js"
import { link, monitor } from "../Node/internal/signals.js"
import { ClockTimers } from "../Node/internal/timers.js"

/**
 * `receive` waited past its timeout with no (matching) message.
 *
 * @since 0.1.0
 */
export class NoMessage extends Schema.TaggedError<NoMessage>()("NoMessage", {
  millis: Schema.Number
}) {
  override get message(): string {
    return `The probe received no matching message within ${this.millis}ms. Check that the process sends to env.probe, or raise the timeout.`
  }
}

/**
 * A message arrived when `expectNoMessage` said none should.
 *
 * @since 0.1.0
 */
export class UnexpectedMessage extends Schema.TaggedError<UnexpectedMessage>()("UnexpectedMessage", {
  received: Schema.Unknown
}) {
  override get message(): string {
    return `The probe received ${String(this.received)} when no message was expected.`
  }
}

/**
 * One captured log line.
 *
 * @since 0.1.0
 */
export interface LogEntry {
  readonly level: string
  readonly message: string
  readonly annotations: Record<string, unknown>
}

/**
 * The test environment.
 *
 * @since 0.1.0
 */
export interface TestEnv {
  readonly node: NodeService
  /** A process that keeps every message (and `Down`/`Exit`) sent to it for `receive`. */
  readonly probe: Pid
  spawn<S, A, M, Q, E, R>(behaviour: Behaviour<S, A, M, Q, E, R>, args: A, options?: SpawnOptions): Effect.Effect<Ref<M, Q>, SpawnError, R>
  /** Spawns a process linked to the probe (the probe traps exits, so it gets `Exit` messages). */
  spawnLink<S, A, M, Q, E, R>(behaviour: Behaviour<S, A, M, Q, E, R>, args: A, options?: SpawnOptions): Effect.Effect<Ref<M, Q>, SpawnError, R>
  send<M>(to: Address<M, any>, message: NoInfer<M>): Effect.Effect<void, SendError>
  call<Q, R extends Q>(to: Address<any, Q>, request: R, timeout?: CallTimeout): Effect.Effect<SuccessOf<R>, FailureOf<R> | CallError>
  /** The next message the probe got, waiting up to `timeout` (default 1 s of Clock time). */
  receive(timeout?: Duration.DurationInput): Effect.Effect<unknown, NoMessage>
  /** The next message satisfying `predicate`; others before it stay queued, in order. */
  receiveMatching<A>(refinement: (u: unknown) => u is A, timeout?: Duration.DurationInput): Effect.Effect<A, NoMessage>
  /** Fails if a message arrives within `within` (real time, default 50 ms: absence cannot be driven by TestClock). */
  expectNoMessage(within?: Duration.DurationInput): Effect.Effect<void, UnexpectedMessage>
  /** The probe monitors `pid`; its `Down` comes through `receive`. */
  monitor(pid: Pid): Effect.Effect<void>
  /** Waits until `pid` exits and returns the reason (`noproc` if it already had). */
  exitReason(pid: Pid): Effect.Effect<ExitReason>
  /** The current state of a live process (none if it is not alive). */
  state<S = unknown>(pid: Pid): Effect.Effect<Option.Option<S>>
  /** Every log line written so far by the node's processes. */
  readonly logs: Effect.Effect<ReadonlyArray<LogEntry>>
}

/**
 * Starts a test node named `test@localhost` (or `name`) with a probe process.
 *
 * @since 0.1.0
 */
export const make = (
  options: NodeOptions & { readonly name?: string } = {}
): Effect.Effect<TestEnv, Node.InvalidNodeName | Node.InvalidNodeOption | Node.ApplicationStartError | Node.NetworkError, Scope.Scope> =>
  Effect.gen(function*() {
    const logs: Array<LogEntry> = []
    const capture = Logger.make(({ annotations, logLevel, message }) => {
      const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
      logs.push({ level: logLevel.label, message: text, annotations: Object.fromEntries(HashMap.toEntries(annotations)) })
    })
    const node = yield* Node.start(options.name ?? "test@localhost", { ...options, log: { level: "All", ...options.log } }).pipe(
      Effect.provide(Logger.add(capture))
    )
    const inbox = yield* Queue.unbounded<unknown>()
    const held: Array<unknown> = []
    const Probe = makeBehaviour({
      name: "Probe",
      init: () => Effect.succeed(undefined),
      handleMessage: (message: unknown) => Queue.offer(inbox, message).pipe(Effect.asVoid),
      handleInfo: (info) => Queue.offer(inbox, info).pipe(Effect.asVoid),
      options: { trapExit: true }
    })
    const probe = yield* Effect.orDie(node.spawn(Probe, undefined))
    const kernel = kernelOf(node)
    // Remember how every process ended, so exitReason works after the fact.
    const reasons = new Map<number, ExitReason>()
    const record = (proc: { readonly id: number }, reason: ExitReason) => void reasons.set(proc.id, reason)
    kernel.exitListeners.add(record)
    yield* Effect.addFinalizer(() => Effect.sync(() => kernel.exitListeners.delete(record)))
    const probeProc = kernel.lookup(probe)!
    const millisOf = (timeout: Duration.DurationInput | undefined) => Duration.toMillis(Duration.decode(timeout ?? "1 second"))

    /**
     * Waits up to `timeout` of Clock time; under TestClock that time only passes with
     * TestClock.adjust, so a real-time guard (never shorter than 2 s) ends a wait that
     * nothing will satisfy instead of hanging the test. The Clock-time bound is a node
     * timer, not `Effect.timeout`: TestClock keeps the sleep of an interrupted timeout until
     * the clock passes it, and a test of a thousand `receive`s then took seconds to adjust
     * the clock past them (a heap of timers, as the node's, keeps one sleep for all; the
     * kit's own, so that the node's figures stay the node's).
     */
    const timers = kernel.options.liveClock ? undefined : new ClockTimers(kernel.options.clock, kernel.options.runtime)
    const bounded = <A>(wait: Effect.Effect<A>, timeout: Duration.DurationInput | undefined): Effect.Effect<A, NoMessage> => {
      const millis = millisOf(timeout)
      const guard = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, Math.max(millis, 2000))))
      const onClock = Effect.async<never, NoMessage>((resume) => {
        const fire = () => resume(Effect.fail(new NoMessage({ millis })))
        if (timers !== undefined) return Effect.sync(timers.start(millis, fire))
        const handle = setTimeout(fire, millis)
        return Effect.sync(() => clearTimeout(handle))
      })
      return wait.pipe(
        Effect.raceFirst(onClock),
        Effect.raceFirst(Effect.zipRight(guard, Effect.fail(new NoMessage({ millis }))))
      )
    }

    const takeNext = (timeout: Duration.DurationInput | undefined): Effect.Effect<unknown, NoMessage> =>
      held.length > 0 ? Effect.succeed(held.shift()) : bounded(Queue.take(inbox), timeout)

    const env: TestEnv = {
      node,
      probe,
      spawn: (behaviour, args, opts) => node.spawn(behaviour, args, opts),
      spawnLink: (behaviour, args, opts) =>
        Effect.tap(node.spawn(behaviour, args, opts), (pid) => Effect.sync(() => link(kernel, probeProc, pid))),
      send: (to, message) => node.send(to, message),
      call: (to, request, timeout) => node.call(to, request, timeout),
      receive: (timeout) => takeNext(timeout),
      receiveMatching: (refinement, timeout) =>
        Effect.suspend(() => {
          const i = held.findIndex(refinement)
          if (i >= 0) return Effect.succeed(held.splice(i, 1)[0] as any)
          const loop: Effect.Effect<any> = Queue.take(inbox).pipe(
            Effect.flatMap((message) => {
              if (refinement(message)) return Effect.succeed(message)
              held.push(message)
              return loop
            })
          )
          return bounded(loop, timeout)
        }),
      expectNoMessage: (within) =>
        // Real time on purpose: under TestClock nothing would ever end the wait.
        Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millisOf(within ?? "50 millis")))).pipe(
          Effect.zipRight(held.length > 0 ? Effect.succeed(Option.some(held[0])) : Queue.poll(inbox)),
          Effect.flatMap((early) =>
            Option.isNone(early) ? Effect.void : Effect.fail(new UnexpectedMessage({ received: early.value }))
          )
        ),
      monitor: (pid) => Effect.sync(() => void monitor(kernel, probeProc, pid)),
      exitReason: (pid) =>
        Effect.suspend(() => {
          const known = pid.node === node.name && pid.creation === node.creation ? reasons.get(pid.id) : undefined
          return known !== undefined ? Effect.succeed(known) : node.awaitExit(pid)
        }),
      state: <S>(pid: Pid) =>
        Effect.sync(() => {
          const proc = kernel.lookup(pid)
          return proc === undefined || proc.status >= EXITING ? Option.none<S>() : Option.some(proc.state as S)
        }),
      logs: Effect.sync(() => logs.slice())
    }
    return env
  })
