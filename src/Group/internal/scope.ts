/**
 * A process group scope (Erlang's `pg` scope process): one process per scope per node,
 * registered as `rain/group/<scope>`. It owns this node's memberships (monitoring each member,
 * whose end makes it leave) and a copy of the memberships of the same scope on every connected
 * node, kept in step the way pg does it: it monitors every node (`monitorNode("*")`); on its
 * start and on each nodeup it sends `Discover` to the scope on that node, which answers with a
 * `Sync` of its local memberships (and discovers back); then `PeerJoin`/`PeerLeave` carry each
 * change; the `Down` of a peer scope (its node went, or it ended) removes its members.
 *
 * Reads (`members`, `localMembers`, `whichGroups`) go to the scope's tables directly, as pg reads
 * its ETS table: no message, and a view that converges rather than a consensus.
 *
 * @internal
 */
import { Effect } from "effect"
import * as Behaviour from "../../Process/Behaviour.js"
import type { Context } from "../../Process/Context.js"
import type { From, Info } from "../../Process/Message.js"
import { Name } from "../../Process/Pid.js"
import type { Pid, Reference } from "../../Process/Pid.js"
import type { Kernel } from "../../Node/internal/kernel.js"
import { kernelOfPid } from "../../Node/internal/kernel.js"
import type { Proc } from "../../Node/internal/proc.js"
import { anyNode } from "../../Node/internal/signals.js"
import { Discover, Joined, Left, PeerJoin, PeerLeave, Sync } from "../types.js"

/** The registered name of a scope's process. */
export const scopeProcessName = (scope: string): string => `rain/group/${scope}`

const pidKey = (pid: Pid): string => `${pid.node}.${pid.id}.${pid.creation}`

interface Peer {
  readonly pid: Pid
  readonly ref: Reference
  groups: Map<string, Array<Pid>>
}

interface Watch {
  readonly ref: Reference
  readonly watcher: Proc
  /** Undefined: the whole scope (`monitorScope`). */
  readonly group: string | undefined
}

type DownOf =
  | { readonly _tag: "member"; readonly id: number }
  | { readonly _tag: "peer"; readonly key: string }
  | { readonly _tag: "watcher"; readonly id: number }

/** A scope's state; `members` and friends read it (never write it) from other processes. */
export interface ScopeState {
  readonly scope: string
  readonly kernel: Kernel
  readonly self: Proc
  /** This node's memberships, a pid once per join. */
  readonly local: Map<string, Array<Pid>>
  /** Local member pid id -> its monitor and how many joins it has. */
  readonly members: Map<number, { readonly ref: Reference; joins: number }>
  /** Peer scope by pid key. */
  readonly peers: Map<string, Peer>
  /** Every member, local ones first: rebuilt per group on each change. */
  readonly all: Map<string, ReadonlyArray<Pid>>
  /** Membership monitors by reference id. */
  readonly watches: Map<number, Watch>
  /** Watcher pid id -> its monitor and its membership monitors. */
  readonly watchers: Map<number, { readonly ref: Reference; readonly refs: Set<number> }>
  /** Monitor reference id -> what it watches (a local member, a peer scope, a watcher). */
  readonly downs: Map<number, DownOf>
}

const tables = new WeakMap<Kernel, Map<string, ScopeState>>()

/** The state of a scope on a node, if it runs. */
export const scopeOf = (kernel: Kernel, scope: string): ScopeState | undefined => tables.get(kernel)?.get(scope)

// Requests of this node's processes to their scope (they never cross nodes).

/** @internal */
export class JoinRequest {
  constructor(readonly group: string, readonly pids: ReadonlyArray<Pid>) {}
}
/** @internal */
export class LeaveRequest {
  constructor(readonly group: string, readonly pids: ReadonlyArray<Pid>) {}
}
/** @internal */
export class MonitorRequest {
  constructor(readonly watcher: Pid, readonly group: string | undefined) {}
}
/** @internal */
export class DemonitorRequest {
  constructor(readonly ref: Reference) {}
}

type Request = JoinRequest | LeaveRequest | MonitorRequest | DemonitorRequest
type Message = Discover | Sync | PeerJoin | PeerLeave

const rebuild = (state: ScopeState, group: string): void => {
  const members: Array<Pid> = []
  const local = state.local.get(group)
  if (local !== undefined) members.push(...local)
  for (const peer of state.peers.values()) {
    const pids = peer.groups.get(group)
    if (pids !== undefined) members.push(...pids)
  }
  if (members.length === 0) state.all.delete(group)
  else state.all.set(group, members)
}

/** Tells the monitors of `group` (and of the whole scope) who joined or left. */
const notify = (state: ScopeState, group: string, joined: ReadonlyArray<Pid>, left: ReadonlyArray<Pid>): void => {
  if (state.watches.size === 0) return
  for (const watch of state.watches.values()) {
    if (watch.group !== undefined && watch.group !== group) continue
    if (joined.length > 0) {
      const message = new Joined({ ref: watch.ref, scope: state.scope, group, pids: joined }, true)
      state.kernel.enqueue(watch.watcher, message, "normal")
    }
    if (left.length > 0) {
      const message = new Left({ ref: watch.ref, scope: state.scope, group, pids: left }, true)
      state.kernel.enqueue(watch.watcher, message, "normal")
    }
  }
}

const broadcast = (state: ScopeState, message: unknown): void => {
  for (const peer of state.peers.values()) state.kernel.send(state.self, peer.pid, message)
}

/** Removes one occurrence of each of `pids` from `list`; returns those it removed. */
const removeOnce = (list: Array<Pid>, pids: ReadonlyArray<Pid>): Array<Pid> => {
  const removed: Array<Pid> = []
  for (const pid of pids) {
    const i = list.findIndex((p) => p.id === pid.id && p.node === pid.node && p.creation === pid.creation)
    if (i >= 0) {
      list.splice(i, 1)
      removed.push(pid)
    }
  }
  return removed
}

/** The multiset difference a - b. */
const minus = (a: ReadonlyArray<Pid>, b: ReadonlyArray<Pid>): Array<Pid> => {
  const rest = b.slice()
  const out: Array<Pid> = []
  for (const pid of a) if (removeOnce(rest, [pid]).length === 0) out.push(pid)
  return out
}

const addPeer = (state: ScopeState, ctx: Context<any, any>, pid: Pid): Effect.Effect<Peer> => {
  const key = pidKey(pid)
  const known = state.peers.get(key)
  if (known !== undefined) return Effect.succeed(known)
  return Effect.map(ctx.monitor(pid), (ref) => {
    const peer: Peer = { pid, ref, groups: new Map() }
    state.peers.set(key, peer)
    state.downs.set(ref.id, { _tag: "peer", key })
    return peer
  })
}

const localGroups = (state: ScopeState) =>
  Array.from(state.local, ([group, pids]) => ({ group, pids: pids.slice() }))

/** A local member ended: it leaves every group it joined. */
const memberDown = (state: ScopeState, id: number): void => {
  state.members.delete(id)
  for (const [group, pids] of Array.from(state.local)) {
    const gone = pids.filter((p) => p.id === id)
    if (gone.length === 0) continue
    const rest = pids.filter((p) => p.id !== id)
    if (rest.length === 0) state.local.delete(group)
    else state.local.set(group, rest)
    rebuild(state, group)
    broadcast(state, new PeerLeave({ from: state.self.pid, group, pids: gone }, true))
    notify(state, group, [], gone)
  }
}

const peerDown = (state: ScopeState, key: string): void => {
  const peer = state.peers.get(key)
  if (peer === undefined) return
  state.peers.delete(key)
  for (const [group, pids] of peer.groups) {
    rebuild(state, group)
    notify(state, group, [], pids)
  }
}

const handleCall = (request: Request, _from: From, state: ScopeState, ctx: Context<any, any>) =>
  Effect.gen(function*() {
    if (request instanceof JoinRequest) {
      const list = state.local.get(request.group) ?? []
      for (const pid of request.pids) {
        list.push(pid)
        const member = state.members.get(pid.id)
        if (member !== undefined) member.joins++
        else {
          const ref = yield* ctx.monitor(pid)
          state.members.set(pid.id, { ref, joins: 1 })
          state.downs.set(ref.id, { _tag: "member", id: pid.id })
        }
      }
      state.local.set(request.group, list)
      rebuild(state, request.group)
      broadcast(state, new PeerJoin({ from: state.self.pid, group: request.group, pids: request.pids }, true))
      notify(state, request.group, request.pids, [])
      return Behaviour.reply(undefined, state)
    }
    if (request instanceof LeaveRequest) {
      const list = state.local.get(request.group)
      const removed = list === undefined ? [] : removeOnce(list, request.pids)
      if (removed.length === 0) return Behaviour.reply(false, state)
      if (list!.length === 0) state.local.delete(request.group)
      for (const pid of removed) {
        const member = state.members.get(pid.id)
        if (member !== undefined && --member.joins === 0) {
          state.members.delete(pid.id)
          state.downs.delete(member.ref.id)
          yield* ctx.demonitor(member.ref)
        }
      }
      rebuild(state, request.group)
      broadcast(state, new PeerLeave({ from: state.self.pid, group: request.group, pids: removed }, true))
      notify(state, request.group, [], removed)
      return Behaviour.reply(true, state)
    }
    if (request instanceof MonitorRequest) {
      const watcher = state.kernel.lookup(request.watcher)
      const ref = state.kernel.makeRef()
      if (watcher === undefined) return Behaviour.reply({ ref, groups: new Map() }, state)
      state.watches.set(ref.id, { ref, watcher, group: request.group })
      const known = state.watchers.get(watcher.pid.id)
      if (known !== undefined) known.refs.add(ref.id)
      else {
        const down = yield* ctx.monitor(watcher.pid)
        state.watchers.set(watcher.pid.id, { ref: down, refs: new Set([ref.id]) })
        state.downs.set(down.id, { _tag: "watcher", id: watcher.pid.id })
      }
      const groups = new Map<string, ReadonlyArray<Pid>>()
      if (request.group === undefined) for (const [group, pids] of state.all) groups.set(group, pids.slice())
      else groups.set(request.group, (state.all.get(request.group) ?? []).slice())
      return Behaviour.reply({ ref, groups }, state)
    }
    const watch = state.watches.get(request.ref.id)
    if (watch === undefined) return Behaviour.reply(false, state)
    state.watches.delete(request.ref.id)
    const known = state.watchers.get(watch.watcher.pid.id)
    if (known !== undefined) {
      known.refs.delete(request.ref.id)
      if (known.refs.size === 0) {
        state.watchers.delete(watch.watcher.pid.id)
        state.downs.delete(known.ref.id)
        yield* ctx.demonitor(known.ref)
      }
    }
    return Behaviour.reply(true, state)
  })

const handleMessage = (message: Message, state: ScopeState, ctx: Context<any, any>) =>
  Effect.gen(function*() {
    const key = pidKey(message.from)
    if (message instanceof Discover) {
      // pg: answer with a sync, and discover back a scope we did not know
      const known = state.peers.has(key)
      yield* addPeer(state, ctx, message.from)
      state.kernel.send(state.self, message.from, new Sync({ from: state.self.pid, groups: localGroups(state) }, true))
      if (!known) state.kernel.send(state.self, message.from, new Discover({ from: state.self.pid }, true))
      return state
    }
    if (message instanceof Sync) {
      const peer = yield* addPeer(state, ctx, message.from)
      const old = peer.groups
      const fresh = new Map<string, Array<Pid>>()
      for (const { group, pids } of message.groups) if (pids.length > 0) fresh.set(group, pids.slice())
      peer.groups = fresh
      for (const group of new Set([...old.keys(), ...fresh.keys()])) {
        const before = old.get(group) ?? []
        const after = fresh.get(group) ?? []
        rebuild(state, group)
        notify(state, group, minus(after, before), minus(before, after))
      }
      return state
    }
    const peer = state.peers.get(key)
    if (peer === undefined) return state // before its sync: the sync will carry it
    if (message instanceof PeerJoin) {
      const list = peer.groups.get(message.group) ?? []
      list.push(...message.pids)
      peer.groups.set(message.group, list)
      rebuild(state, message.group)
      notify(state, message.group, message.pids, [])
      return state
    }
    const list = peer.groups.get(message.group)
    if (list === undefined) return state
    const removed = removeOnce(list, message.pids)
    if (list.length === 0) peer.groups.delete(message.group)
    rebuild(state, message.group)
    notify(state, message.group, [], removed)
    return state
  })

const handleInfo = (info: Info, state: ScopeState) =>
  Effect.sync(() => {
    if (info._tag === "NodeUp") {
      state.kernel.send(
        state.self,
        new Name({ name: scopeProcessName(state.scope), node: info.node }, true),
        new Discover({ from: state.self.pid }, true)
      )
      return state
    }
    if (info._tag !== "Down") return state
    const down = state.downs.get(info.ref.id)
    if (down === undefined) return state
    state.downs.delete(info.ref.id)
    switch (down._tag) {
      case "member":
        memberDown(state, down.id)
        break
      case "peer":
        peerDown(state, down.key)
        break
      case "watcher": {
        const known = state.watchers.get(down.id)
        state.watchers.delete(down.id)
        if (known !== undefined) for (const ref of known.refs) state.watches.delete(ref)
        break
      }
    }
    return state
  })

/** The scope behaviour; `nodes` lists the nodes connected at its start. */
export const ScopeBehaviour = Behaviour.make<
  ScopeState,
  { readonly scope: string; readonly nodes: Effect.Effect<ReadonlyArray<string>> },
  Message,
  Request
>({
  name: "rain/Group/Scope",
  init: (args, ctx) =>
    Effect.gen(function*() {
      const kernel = kernelOfPid(ctx.self)!
      const state: ScopeState = {
        scope: args.scope,
        kernel,
        self: kernel.lookup(ctx.self)!,
        local: new Map(),
        members: new Map(),
        peers: new Map(),
        all: new Map(),
        watches: new Map(),
        watchers: new Map(),
        downs: new Map()
      }
      let table = tables.get(kernel)
      if (table === undefined) tables.set(kernel, (table = new Map()))
      table.set(args.scope, state)
      // Every nodeup from now on, then the nodes already connected: none is missed.
      yield* ctx.monitorNode(anyNode)
      const discover = new Discover({ from: ctx.self }, true)
      for (const node of yield* args.nodes) {
        kernel.send(state.self, new Name({ name: scopeProcessName(args.scope), node }, true), discover)
      }
      return state
    }),
  handleMessage,
  handleCall: handleCall as any,
  handleInfo,
  terminate: (_reason, state) =>
    Effect.sync(() => {
      const table = tables.get(state.kernel)
      if (table?.get(state.scope) === state) table.delete(state.scope)
    }),
  describe: (state) => ({
    scope: state.scope,
    groups: state.all.size,
    localMembers: state.members.size,
    peers: Array.from(state.peers.values(), (p) => p.pid.node)
  })
})
