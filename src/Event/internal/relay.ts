/**
 * The event relay: one process per node, registered as `rain/event`, started on the first use
 * of events on the node. It holds the events registered on its node (producer, buffer, local
 * subscribers, and the relays of the other nodes that subscribe) and this node's subscriptions
 * to events of other nodes (the local subscribers, a copy of the buffer). A publication crosses
 * to another node once, to that node's relay, which fans it out to its own subscribers: a
 * thousand subscribers on a node cost one message on the wire, not a thousand.
 *
 * It builds on monitors only: it monitors producers (their end ends the event), subscribers
 * (their end unsubscribes them) and, by name, the relay of each node it trades with (its loss,
 * `noconnection` when the node goes, ends that node's events here and its subscriptions there).
 *
 * @internal
 */
import { Effect } from "effect"
import * as Behaviour from "../../Process/Behaviour.js"
import type { Context } from "../../Process/Context.js"
import * as Reason from "../../Process/ExitReason.js"
import type { ExitReason } from "../../Process/ExitReason.js"
import type { Down, From, Info } from "../../Process/Message.js"
import { Name, Pid } from "../../Process/Pid.js"
import type { Reference } from "../../Process/Pid.js"
import { spawnEffect } from "../../Node/internal/context.js"
import type { Kernel } from "../../Node/internal/kernel.js"
import { kernelOfPid } from "../../Node/internal/kernel.js"
import type { Proc } from "../../Node/internal/proc.js"
import { exitSignal } from "../../Node/internal/signals.js"
import {
  AlreadySubscribed,
  EventDown,
  EventMessage,
  EventName,
  EventStart,
  EventStop,
  EventTaken,
  EventUnknown,
  InvalidToken,
  RemoteSubscribe,
  RemoteSubscribed,
  RemoteUnsubscribe,
  Token
} from "../types.js"

/** The registered name of the relay on every node. */
export const relayName = "rain/event"

/** How a process subscribes: a link (exit signal at the end) or a monitor (`EventDown`). */
export type Kind = "link" | "monitor"

interface Sub {
  readonly proc: Proc
  readonly kind: Kind
}

interface LocalEvent {
  readonly event: EventName
  readonly secret: string
  readonly producer: Pid
  readonly monitor: Reference
  readonly bufferSize: number
  readonly buffer: Array<EventMessage>
  readonly subs: Map<number, Sub>
  /** Node name -> that node's relay, for the nodes with subscribers. */
  readonly remotes: Map<string, Pid>
  /** Tell the producer when the event gets its first subscriber and loses its last (Ergo's `Notify`). */
  readonly notify: boolean
  /** Whether the producer was last told `EventStart` (it has subscribers). */
  started: boolean
}

interface Pending {
  readonly from: From
  readonly proc: Proc
  readonly kind: Kind
}

interface RemoteEvent {
  readonly event: EventName
  producer: Pid | undefined
  bufferSize: number
  buffer: Array<EventMessage>
  readonly subs: Map<number, Sub>
  /** Subscribers waiting for the producer's node to answer; undefined once it has. */
  pending: Array<Pending> | undefined
}

type Watch =
  | { readonly _tag: "producer"; readonly name: string }
  | { readonly _tag: "subscriber"; readonly id: number }
  | { readonly _tag: "relay"; readonly node: string }

/** The relay's state; also read (never written) by `Event.publish` to check a token at once. */
export interface RelayState {
  readonly kernel: Kernel
  readonly self: Proc
  readonly local: Map<string, LocalEvent>
  /** By `eventKey`. */
  readonly remote: Map<string, RemoteEvent>
  /** Subscriber pid id -> its monitor and the keys of the events it subscribes to. */
  readonly subscribers: Map<number, { readonly ref: Reference; readonly keys: Set<string> }>
  readonly watches: Map<number, Watch>
  /** Node -> the monitor of that node's relay. */
  readonly relays: Map<string, Reference>
}

const states = new WeakMap<Kernel, RelayState>()

/** The state of the relay of `kernel`, if it runs. */
export const stateOf = (kernel: Kernel): RelayState | undefined => states.get(kernel)

/** The key of an event in `remote` and in a subscriber's keys. */
export const eventKey = (event: EventName): string => `${event.name}\u0000${event.node}`

// Requests and messages between processes of one node and their relay (they never cross nodes).

/** @internal */
export class Register {
  constructor(readonly name: string, readonly bufferSize: number, readonly notify: boolean, readonly producer: Pid) {}
}
/** @internal */
export class Unregister {
  constructor(readonly token: Token) {}
}
/** @internal */
export class Subscribe {
  constructor(readonly event: EventName, readonly pid: Pid, readonly kind: Kind) {}
}
/** @internal */
export class Unsubscribe {
  constructor(readonly event: EventName, readonly pid: Pid, readonly kind: Kind) {}
}
/** @internal */
export class Publish {
  constructor(readonly name: string, readonly secret: string, readonly message: unknown) {}
}

type Request = Register | Unregister | Subscribe | Unsubscribe
type Message = LaterDown | Publish | RemoteSubscribe | RemoteUnsubscribe | RemoteSubscribed | EventMessage | EventDown

const unregistered = Reason.shutdownWith("unregistered")

let secrets = 0
const newSecret = (): string =>
  `${Date.now().toString(36)}.${(++secrets).toString(36)}.${Math.random().toString(36).slice(2)}`

/** Drops a full subscriber's copy rather than fail the fan-out (the others still get theirs). Hot path. */
const fanOut = (state: RelayState, subs: Map<number, Sub>, message: EventMessage): void => {
  const kernel = state.kernel
  for (const sub of subs.values()) kernel.enqueue(sub.proc, message, "normal")
}

const pushBuffer = (buffer: Array<EventMessage>, size: number, message: EventMessage): void => {
  if (size === 0) return
  buffer.push(message)
  if (buffer.length > size) buffer.shift()
}

/** After a change of an event's subscribers: `EventStart`/`EventStop` to a producer that asked for them. */
const changed = (state: RelayState, local: LocalEvent): void => {
  if (!local.notify) return
  const active = local.subs.size > 0 || local.remotes.size > 0
  if (active === local.started) return
  local.started = active
  const producer = state.kernel.lookup(local.producer)
  if (producer === undefined) return
  const note = active ? new EventStart({ event: local.event }, true) : new EventStop({ event: local.event }, true)
  state.kernel.enqueue(producer, note, "normal")
}

const notify = (state: RelayState, sub: Sub, event: EventName, producer: Pid | undefined, reason: ExitReason): void => {
  if (sub.kind === "monitor") state.kernel.enqueue(sub.proc, new EventDown({ event, reason }, true), "normal")
  else exitSignal(state.kernel, sub.proc, producer ?? state.self.pid, reason, true)
}

const watchSubscriber = (state: RelayState, ctx: Context<any, any>, proc: Proc, key: string): Effect.Effect<void> => {
  const known = state.subscribers.get(proc.pid.id)
  if (known !== undefined) {
    known.keys.add(key)
    return Effect.void
  }
  return Effect.map(ctx.monitor(proc.pid), (ref) => {
    state.subscribers.set(proc.pid.id, { ref, keys: new Set([key]) })
    state.watches.set(ref.id, { _tag: "subscriber", id: proc.pid.id })
  })
}

const unwatchSubscriber = (state: RelayState, ctx: Context<any, any>, id: number, key: string): Effect.Effect<void> => {
  const known = state.subscribers.get(id)
  if (known === undefined) return Effect.void
  known.keys.delete(key)
  if (known.keys.size > 0) return Effect.void
  state.subscribers.delete(id)
  state.watches.delete(known.ref.id)
  return ctx.demonitor(known.ref)
}

const watchRelay = (state: RelayState, ctx: Context<any, any>, node: string): Effect.Effect<void> => {
  if (state.relays.has(node)) return Effect.void
  return Effect.map(ctx.monitor(new Name({ name: relayName, node }, true)), (ref) => {
    state.relays.set(node, ref)
    state.watches.set(ref.id, { _tag: "relay", node })
  })
}

/** A remote event lost its last local subscriber: the producer's node stops sending it here. */
const dropRemoteIfUnused = (state: RelayState, remote: RemoteEvent): void => {
  if (remote.subs.size > 0 || (remote.pending !== undefined && remote.pending.length > 0)) return
  state.remote.delete(eventKey(remote.event))
  state.kernel.send(
    state.self,
    new Name({ name: relayName, node: remote.event.node }, true),
    new RemoteUnsubscribe({ name: remote.event.name, node: state.kernel.name }, true)
  )
}

/** Ends an event of this node: its subscribers here and the relays of other nodes hear why. */
const endLocal = (state: RelayState, ctx: Context<any, any>, local: LocalEvent, reason: ExitReason) =>
  Effect.gen(function*() {
    state.local.delete(local.event.name)
    state.watches.delete(local.monitor.id)
    const key = eventKey(local.event)
    for (const sub of local.subs.values()) {
      notify(state, sub, local.event, local.producer, reason)
      yield* unwatchSubscriber(state, ctx, sub.proc.pid.id, key)
    }
    const down = new EventDown({ event: local.event, reason }, true)
    for (const relay of local.remotes.values()) state.kernel.send(state.self, relay, down)
  })

/** Ends this node's subscription to an event of another node. */
const endRemote = (state: RelayState, ctx: Context<any, any>, remote: RemoteEvent, reason: ExitReason, why: string) =>
  Effect.gen(function*() {
    const key = eventKey(remote.event)
    state.remote.delete(key)
    for (const sub of remote.subs.values()) {
      notify(state, sub, remote.event, remote.producer, reason)
      yield* unwatchSubscriber(state, ctx, sub.proc.pid.id, key)
    }
    if (remote.pending !== undefined) {
      for (const p of remote.pending) {
        yield* ctx.replyError(p.from, new EventUnknown({ event: remote.event, reason: why }))
      }
    }
  })

const handleCall = (request: Request, from: From, state: RelayState, ctx: Context<any, any>) =>
  Effect.gen(function*() {
    const kernel = state.kernel
    if (request instanceof Register) {
      if (state.local.has(request.name)) return Behaviour.replyError(new EventTaken({ name: request.name }), state)
      const producer = kernel.lookup(request.producer)
      if (producer === undefined) return Behaviour.replyError(new InvalidToken({ event: request.name }), state)
      const monitor = yield* ctx.monitor(request.producer)
      const event = new EventName({ name: request.name, node: kernel.name }, true)
      const secret = newSecret()
      state.local.set(request.name, {
        event,
        secret,
        producer: request.producer,
        monitor,
        bufferSize: request.bufferSize,
        notify: request.notify,
        started: false,
        buffer: [],
        subs: new Map(),
        remotes: new Map()
      })
      state.watches.set(monitor.id, { _tag: "producer", name: request.name })
      return Behaviour.reply(new Token({ event, secret }, true), state)
    }
    if (request instanceof Unregister) {
      const local = state.local.get(request.token.event.name)
      if (local === undefined || local.secret !== request.token.secret || request.token.event.node !== kernel.name) {
        return Behaviour.replyError(new InvalidToken({ event: request.token.event.name }), state)
      }
      yield* ctx.demonitor(local.monitor)
      yield* endLocal(state, ctx, local, unregistered)
      return Behaviour.reply(undefined, state)
    }
    if (request instanceof Subscribe) {
      const proc = kernel.lookup(request.pid)
      if (proc === undefined) return Behaviour.reply([], state)
      const key = eventKey(request.event)
      if (request.event.node === kernel.name) {
        const local = state.local.get(request.event.name)
        if (local === undefined) {
          return Behaviour.replyError(new EventUnknown({ event: request.event, reason: "it is not registered" }), state)
        }
        if (local.subs.has(proc.pid.id)) {
          return Behaviour.replyError(new AlreadySubscribed({ event: request.event }), state)
        }
        local.subs.set(proc.pid.id, { proc, kind: request.kind })
        changed(state, local)
        yield* watchSubscriber(state, ctx, proc, key)
        return Behaviour.reply(local.buffer.slice(), state)
      }
      let remote = state.remote.get(key)
      if (remote !== undefined) {
        if (remote.subs.has(proc.pid.id) || remote.pending?.some((p) => p.proc === proc) === true) {
          return Behaviour.replyError(new AlreadySubscribed({ event: request.event }), state)
        }
        if (remote.pending === undefined) {
          remote.subs.set(proc.pid.id, { proc, kind: request.kind })
          yield* watchSubscriber(state, ctx, proc, key)
          return Behaviour.reply(remote.buffer.slice(), state)
        }
        remote.pending.push({ from, proc, kind: request.kind })
        return Behaviour.noReply(state)
      }
      if (kernel.remote === undefined) {
        return Behaviour.replyError(
          new EventUnknown({
            event: request.event,
            reason: "this node has no network (start it with the network option)"
          }),
          state
        )
      }
      remote = { event: request.event, producer: undefined, bufferSize: 0, buffer: [], subs: new Map(), pending: [] }
      remote.pending!.push({ from, proc, kind: request.kind })
      state.remote.set(key, remote)
      // Monitor first: if that node runs no relay (no event was ever registered there), Down noproc says so.
      yield* watchRelay(state, ctx, request.event.node)
      kernel.send(
        state.self,
        new Name({ name: relayName, node: request.event.node }, true),
        new RemoteSubscribe({ name: request.event.name, relay: state.self.pid }, true)
      )
      return Behaviour.noReply(state)
    }
    // Unsubscribe
    const key = eventKey(request.event)
    const id = request.pid.id
    if (request.event.node === kernel.name) {
      const local = state.local.get(request.event.name)
      if (local !== undefined && local.subs.get(id)?.kind === request.kind) {
        local.subs.delete(id)
        changed(state, local)
        yield* unwatchSubscriber(state, ctx, id, key)
      }
      return Behaviour.reply(undefined, state)
    }
    const remote = state.remote.get(key)
    if (remote !== undefined) {
      if (remote.subs.get(id)?.kind === request.kind) {
        remote.subs.delete(id)
        yield* unwatchSubscriber(state, ctx, id, key)
      } else if (remote.pending !== undefined) {
        remote.pending = remote.pending.filter((p) => !(p.proc.pid.id === id && p.kind === request.kind))
      }
      dropRemoteIfUnused(state, remote)
    }
    return Behaviour.reply(undefined, state)
  })

const handleMessage = (message: Message, state: RelayState, ctx: Context<any, any>): Effect.Effect<RelayState> => {
  const kernel = state.kernel
  if (message instanceof Publish) {
    // Hot path: one EventMessage shared by every subscriber, one wire message per subscribed node.
    const local = state.local.get(message.name)
    if (local === undefined || local.secret !== message.secret) return Effect.succeed(state)
    const published = new EventMessage({ event: local.event, timestamp: kernel.now(), message: message.message }, true)
    pushBuffer(local.buffer, local.bufferSize, published)
    fanOut(state, local.subs, published)
    for (const relay of local.remotes.values()) {
      const error = kernel.send(state.self, relay, published)
      if (error !== undefined) {
        return Effect.as(
          Effect.logWarning(`event ${local.event.name}: a publication could not reach ${relay.node}: ${error.message}`),
          state
        )
      }
    }
    return Effect.succeed(state)
  }
  if (message instanceof EventMessage) {
    const remote = state.remote.get(eventKey(message.event))
    if (remote === undefined || remote.pending !== undefined) return Effect.succeed(state)
    pushBuffer(remote.buffer, remote.bufferSize, message)
    fanOut(state, remote.subs, message)
    return Effect.succeed(state)
  }
  if (message instanceof LaterDown) return handleDown(message.down, state, ctx)
  return Effect.gen(function*() {
    if (message instanceof RemoteSubscribe) {
      const local = state.local.get(message.name)
      const event = new EventName({ name: message.name, node: kernel.name }, true)
      if (local === undefined) {
        const refusal = new RemoteSubscribed({ event, found: false, bufferSize: 0, buffer: [] }, true)
        kernel.send(state.self, message.relay, refusal)
        return state
      }
      yield* watchRelay(state, ctx, message.relay.node)
      local.remotes.set(message.relay.node, message.relay)
      changed(state, local)
      kernel.send(
        state.self,
        message.relay,
        new RemoteSubscribed(
          { event, found: true, producer: local.producer, bufferSize: local.bufferSize, buffer: local.buffer.slice() },
          true
        )
      )
      return state
    }
    if (message instanceof RemoteUnsubscribe) {
      const local = state.local.get(message.name)
      if (local !== undefined && local.remotes.delete(message.node)) changed(state, local)
      return state
    }
    if (message instanceof RemoteSubscribed) {
      const remote = state.remote.get(eventKey(message.event))
      if (remote === undefined || remote.pending === undefined) return state
      if (!message.found) {
        yield* endRemote(state, ctx, remote, Reason.noproc, "it is not registered")
        return state
      }
      const pending = remote.pending
      remote.pending = undefined
      remote.producer = message.producer
      remote.bufferSize = message.bufferSize
      remote.buffer = message.buffer.slice()
      const key = eventKey(remote.event)
      for (const p of pending) {
        if (kernel.lookup(p.proc.pid) !== p.proc) continue
        remote.subs.set(p.proc.pid.id, { proc: p.proc, kind: p.kind })
        yield* watchSubscriber(state, ctx, p.proc, key)
        yield* ctx.reply(p.from, remote.buffer.slice())
      }
      dropRemoteIfUnused(state, remote)
      return state
    }
    // EventDown from the producer's node
    const remote = state.remote.get(eventKey(message.event))
    if (remote !== undefined) yield* endRemote(state, ctx, remote, message.reason, "it ended")
    return state
  })
}

/**
 * The `Down` of a producer or of another node's relay, queued behind the messages already in
 * the relay's mailbox: a `Down` comes in the system lane, ahead of them, but the publications a
 * producer made before it ended (and those another relay sent before the connection went) must
 * reach the subscribers before the `EventDown`.
 */
class LaterDown {
  constructor(readonly down: Down) {}
}

const handleInfo = (info: Info, state: RelayState, ctx: Context<any, any>) => {
  if (info._tag !== "Down") return Effect.succeed(state)
  const watch = state.watches.get(info.ref.id)
  if (watch !== undefined && watch._tag !== "subscriber") {
    state.kernel.enqueue(state.self, new LaterDown(info), "normal")
    return Effect.succeed(state)
  }
  return handleDown(info, state, ctx)
}

const handleDown = (info: Down, state: RelayState, ctx: Context<any, any>) =>
  Effect.gen(function*() {
    const watch = state.watches.get(info.ref.id)
    if (watch === undefined) return state
    state.watches.delete(info.ref.id)
    switch (watch._tag) {
      case "producer": {
        const local = state.local.get(watch.name)
        if (local !== undefined && local.monitor.id === info.ref.id) yield* endLocal(state, ctx, local, info.reason)
        return state
      }
      case "subscriber": {
        const known = state.subscribers.get(watch.id)
        state.subscribers.delete(watch.id)
        if (known === undefined) return state
        for (const key of known.keys) {
          const remote = state.remote.get(key)
          if (remote !== undefined) {
            remote.subs.delete(watch.id)
            dropRemoteIfUnused(state, remote)
            continue
          }
          const name = key.slice(0, key.indexOf("\u0000"))
          const local = state.local.get(name)
          if (local !== undefined && local.subs.delete(watch.id)) changed(state, local)
        }
        return state
      }
      case "relay": {
        state.relays.delete(watch.node)
        for (const local of state.local.values()) if (local.remotes.delete(watch.node)) changed(state, local)
        const why = info.reason._tag === "noproc"
          ? "that node runs no event relay (no event was ever registered there)"
          : info.reason._tag === "noconnection"
          ? "that node is not connected"
          : `that node's event relay ended (${Reason.format(info.reason)})`
        for (const remote of Array.from(state.remote.values())) {
          if (remote.event.node === watch.node) yield* endRemote(state, ctx, remote, info.reason, why)
        }
        return state
      }
    }
  })

/** The relay behaviour. */
export const Relay = Behaviour.make<RelayState, void, Message, Request>({
  name: "rain/Event/Relay",
  init: (_: void, ctx) =>
    Effect.sync(() => {
      const kernel = kernelOfPid(ctx.self)!
      const state: RelayState = {
        kernel,
        self: kernel.lookup(ctx.self)!,
        local: new Map(),
        remote: new Map(),
        subscribers: new Map(),
        watches: new Map(),
        relays: new Map()
      }
      states.set(kernel, state)
      return state
    }),
  handleMessage,
  handleCall: handleCall as any,
  handleInfo,
  // The relay ending (it crashed, or was told to stop) ends every event it held: their subscribers here
  // and on other nodes hear it with the relay's reason, rather than wait for publications that never come.
  terminate: (reason, state) =>
    Effect.sync(() => {
      if (states.get(state.kernel) === state) states.delete(state.kernel)
      for (const local of state.local.values()) {
        for (const sub of local.subs.values()) notify(state, sub, local.event, local.producer, reason)
        const down = new EventDown({ event: local.event, reason }, true)
        for (const relay of local.remotes.values()) state.kernel.send(state.self, relay, down)
      }
      for (const remote of state.remote.values()) {
        for (const sub of remote.subs.values()) notify(state, sub, remote.event, remote.producer, reason)
      }
    }),
  describe: (state) => ({
    events: state.local.size,
    subscriptions: state.remote.size,
    subscribers: state.subscribers.size
  })
})

const kernelOfContext = new WeakMap<object, Kernel>()

/** The kernel a process runs on (remembered per context: `publish` is a hot path). */
export const kernelFor = (ctx: Context<any, any>): Kernel => {
  let kernel = kernelOfContext.get(ctx)
  if (kernel === undefined) {
    kernel = kernelOfPid(ctx.self)
    if (kernel === undefined) throw new Error("rain: Event used outside a running process")
    kernelOfContext.set(ctx, kernel)
  }
  return kernel
}

/** The relay of a node, started on first use (a process of the node, not of the caller). */
export const relayOf = (kernel: Kernel): Effect.Effect<Pid> =>
  Effect.suspend(() => {
    const proc = kernel.names.get(relayName)
    if (proc !== undefined) return Effect.succeed(proc.pid)
    return Effect.orDie(
      spawnEffect(
        kernel,
        Relay,
        undefined,
        { name: relayName },
        kernel.options.runtime,
        undefined,
        undefined,
        false,
        kernel.nodePid
      )
    ) as Effect.Effect<Pid>
  })
