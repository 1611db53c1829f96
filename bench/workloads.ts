/**
 * Rain's local workloads and the bare-Effect baselines. Each returns its figure and
 * throws when the run was not correct (a message lost, out of order, a wrong count):
 * then no figure is printed.
 *
 * Handlers are written as a user would: built once (`Effect.fnUntraced`, or a plain
 * function returning `Effect.succeed`).
 */
import { Deferred, Effect, Fiber, Queue } from "effect"
import type { Process as P } from "../src/index.js"
import { Node, Process, Supervisor } from "../src/index.js"
import { kernelOf } from "../src/Node/internal/kernel.js"

export interface Size {
  readonly quick: boolean
}

const check = (ok: boolean, what: string) => {
  if (!ok) throw new Error(`verification failed: ${what}`)
}

const gc = () => (globalThis as any).gc?.()

const withNode = <A>(f: (node: Node.NodeService) => Effect.Effect<A, any>, options: Node.NodeOptions = {}): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(Effect.flatMap(Node.start("bench@localhost", { limits: { maxProcesses: 5_000_000 }, ...options }), f))
  )

// ---------------------------------------------------------------------------
// spawn

const Idle = Process.make({ name: "Idle", init: () => Effect.succeed(0), handleMessage: (_: number, s: number) => Effect.succeed(s + 1) })

/** µs per spawned (and initialised) process, 100k processes that stay alive. */
const spawnUs = ({ quick }: Size) =>
  withNode((node) =>
    Effect.gen(function*() {
      const n = quick ? 20_000 : 100_000
      const t = performance.now()
      for (let i = 0; i < n; i++) yield* node.spawn(Idle, undefined)
      const us = ((performance.now() - t) * 1000) / n
      check(kernelOf(node).procs.size === n, `${n} live processes`)
      return us
    })
  )

/** Heap bytes per idle process at 100k (after a full GC on both sides). */
const spawnBytes = ({ quick }: Size) =>
  withNode((node) =>
    Effect.gen(function*() {
      const n = quick ? 20_000 : 100_000
      const pids: Array<P.Pid> = []
      gc()
      const before = process.memoryUsage().heapUsed
      for (let i = 0; i < n; i++) pids.push(yield* node.spawn(Idle, undefined))
      gc()
      const bytes = (process.memoryUsage().heapUsed - before) / n
      check(kernelOf(node).procs.size === n && pids.length === n, `${n} live processes`)
      return bytes
    })
  )

/** Seconds until 1M processes are alive. */
const spawn1m = ({ quick }: Size) =>
  withNode((node) =>
    Effect.gen(function*() {
      const n = quick ? 200_000 : 1_000_000
      const t = performance.now()
      for (let i = 0; i < n; i++) yield* node.spawn(Idle, undefined)
      const seconds = (performance.now() - t) / 1000
      check(kernelOf(node).procs.size === n, `${n} live processes`)
      return quick ? seconds * (1_000_000 / n) : seconds
    })
  )

// ---------------------------------------------------------------------------
// messaging

/** Counts what it receives and checks that sequence numbers arrive in order. */
const makeSink = (total: number, done: Deferred.Deferred<void>, senders: number) =>
  Process.make({
    name: "Sink",
    init: () => Effect.succeed({ count: 0, next: new Array<number>(senders).fill(0) }),
    handleMessage: (m: readonly [number, number], s: { count: number; next: Array<number> }) => {
      const [sender, seq] = m
      if (s.next[sender] !== seq) return Effect.die(new Error(`sender ${sender}: got ${seq}, expected ${s.next[sender]}`))
      s.next[sender] = seq + 1
      s.count++
      if (s.count === total) Deferred.unsafeDone(done, Effect.void)
      return Effect.succeed(s)
    }
  })

const makeSender = (sink: P.Pid, count: number) =>
  Process.make({
    name: "Sender",
    init: (id: number) => Effect.succeed(id),
    handleMessage: Effect.fnUntraced(function*(_: "go", id: number, ctx: P.Context<"go">) {
      for (let i = 0; i < count; i++) yield* ctx.send(sink, [id, i] as const)
      return id
    })
  })

const flow = (senders: number, total: number) =>
  withNode((node) =>
    Effect.gen(function*() {
      const done = yield* Deferred.make<void>()
      const sink = yield* node.spawn(makeSink(total, done, senders), undefined)
      const Sender = makeSender(sink, total / senders)
      const pids = []
      for (let i = 0; i < senders; i++) pids.push(yield* node.spawn(Sender, i))
      const t = performance.now()
      for (const pid of pids) yield* node.send(pid, "go")
      const exit = yield* Effect.raceFirst(Deferred.await(done), node.awaitExit(sink))
      const seconds = (performance.now() - t) / 1000
      check(exit === undefined, `sink ended early: ${exit && Process.ExitReason.format(exit as any)}`)
      return total / seconds
    })
  )

const oneway = ({ quick }: Size) => flow(1, quick ? 200_000 : 1_000_000)
const fanin = ({ quick }: Size) => flow(100, quick ? 200_000 : 1_000_000)

/** Round trips between two processes. */
const pingpong = ({ quick }: Size) =>
  withNode((node) =>
    Effect.gen(function*() {
      const n = quick ? 50_000 : 300_000
      const done = yield* Deferred.make<number>()
      const Pong = Process.make({
        name: "Pong",
        init: () => Effect.void,
        handleMessage: (m: readonly [P.Pid, number], s, ctx) => Effect.as(ctx.send(m[0], m[1]), s)
      })
      const pong = yield* node.spawn(Pong, undefined)
      const Ping = Process.make({
        name: "Ping",
        init: () => Effect.succeed(0),
        handleMessage: (m: number, expected: number, ctx) => {
          if (m !== expected) return Effect.die(new Error(`round trip ${expected} came back as ${m}`))
          if (m === n) {
            Deferred.unsafeDone(done, Effect.succeed(m))
            return Effect.succeed(expected)
          }
          return Effect.as(ctx.send(pong, [ctx.self, m + 1] as const), m + 1)
        }
      })
      const ping = yield* node.spawn(Ping, undefined)
      const t = performance.now()
      yield* node.send(ping, 0)
      const last = yield* Deferred.await(done)
      check(last === n, "all round trips")
      return n / ((performance.now() - t) / 1000)
    })
  )

/** `call` round trips from one process to another (gen_server:call), default 5 s timeout. */
const call = ({ quick }: Size) =>
  withNode((node) =>
    Effect.gen(function*() {
      const n = quick ? 50_000 : 300_000
      const Server = Process.make({
        name: "Server",
        init: () => Effect.succeed(0),
        handleCall: (q: number, _from, s: number) => Effect.succeed(Process.reply(q + 1, s + 1))
      })
      const server = yield* node.spawn(Server, undefined)
      const done = yield* Deferred.make<number>()
      const Client = Process.make({
        name: "Client",
        init: () => Effect.void,
        handleMessage: Effect.fnUntraced(function*(_: "go", s: void, ctx: P.Context<"go">) {
          let ok = 0
          for (let i = 0; i < n; i++) if ((yield* ctx.call(server, i)) === i + 1) ok++
          Deferred.unsafeDone(done, Effect.succeed(ok))
          return s
        })
      })
      const client = yield* node.spawn(Client, undefined)
      const t = performance.now()
      yield* node.send(client, "go")
      const ok = yield* Deferred.await(done)
      check(ok === n, `${ok} of ${n} replies right`)
      return n / ((performance.now() - t) / 1000)
    })
  )

/**
 * µs per refused send: `ctx.send` to a full bounded mailbox, from inside a process (the
 * overload case: a sender that keeps trying must not starve the full process).
 */
const refusedSend = ({ quick }: Size) =>
  withNode((node) =>
    Effect.gen(function*() {
      const n = quick ? 100_000 : 500_000
      // Takes its first message and never finishes it: from then on its mailbox stays full.
      const Full = Process.make({ name: "Full", init: () => Effect.void, handleMessage: (_: number, _s: void) => Effect.never })
      const full = yield* node.spawn(Full, undefined, { mailboxSize: 1 })
      const done = yield* Deferred.make<number>()
      const Refused = Process.make({
        name: "Refused",
        init: () => Effect.void,
        handleMessage: Effect.fnUntraced(function*(_: "go", s: void, ctx: P.Context<"go">) {
          // The first send is taken by Full (when this handler yields), at most one more fills the bound.
          yield* ctx.send(full, 0)
          const t = performance.now()
          let refused = 0
          for (let i = 0; i < n; i++) {
            const r = yield* Effect.either(ctx.send(full, i))
            if (r._tag === "Left" && r.left._tag === "MailboxFull") refused++
          }
          Deferred.unsafeDone(done, Effect.succeed(refused >= n - 2 ? ((performance.now() - t) * 1000) / n : -1))
          return s
        })
      })
      yield* node.send(yield* node.spawn(Refused, undefined), "go")
      const us = yield* Deferred.await(done)
      check(us >= 0, "every send past the bound refused with MailboxFull")
      return us
    })
  )

/**
 * 100k calls in flight at once from outside any process (`node.call`) to 4 servers:
 * none lost, none answered twice (the suite runs a 10k version as a test).
 */
const callConcurrent = ({ quick }: Size) =>
  withNode((node) =>
    Effect.gen(function*() {
      const n = quick ? 20_000 : 100_000
      const Echo = Process.make({
        name: "Echo",
        init: () => Effect.succeed(0),
        handleCall: (q: number, _from, handled: number) => Effect.succeed(Process.reply(q, handled + 1))
      })
      const echoes = yield* Effect.forEach([0, 1, 2, 3], () => node.spawn(Echo, undefined))
      const t = performance.now()
      const results = yield* Effect.forEach(
        Array.from({ length: n }, (_, i) => i),
        (i) => node.call(echoes[i % 4]!, i),
        { concurrency: "unbounded" }
      )
      const rate = n / ((performance.now() - t) / 1000)
      check(results.every((r, i) => r === i), "every caller got its own reply")
      let handled = 0
      for (const e of echoes) handled += kernelOf(node).lookup(e)!.state as number
      check(handled === n, `${handled} of ${n} calls handled once`)
      check(kernelOf(node).pending.size === 0, "no call left pending")
      return rate
    })
  )

// ---------------------------------------------------------------------------
// supervision

const Child = Process.make({
  name: "Child",
  init: () => Effect.void,
  handleMessage: (_: "crash") => Effect.fail("crash on purpose"),
  handleCall: (_: "ping", _from, s) => Effect.succeed(Process.reply("pong", s))
})

/** `rounds` restarts of a one_for_one supervisor's child; each sample in µs (see `restart`). */
const restartSamples = (node: Node.NodeService, rounds: number) =>
  Effect.gen(function*() {
    const done = yield* Deferred.make<Array<number>>()
    const samples: Array<number> = []
    let t0 = 0
    const tester = "restart_tester" as unknown as P.Ref<"up">
    const child = "child" as unknown as P.Ref<"crash">
    const Notifying = Process.make({
      name: "Child",
      init: (_: void, ctx: P.Context<"crash">) => ctx.send(tester, "up"),
      handleMessage: (_: "crash") => Effect.fail("crash on purpose")
    })
    const Tester = Process.make({
      name: "Tester",
      init: (_: void, ctx: P.Context<"up">) => Effect.as(ctx.register("restart_tester"), false),
      handleMessage: (_: "up", started: boolean, ctx: P.Context<"up">) => {
        // The first "up" is the child's first start; every later one ends a restart.
        if (started) samples.push((performance.now() - t0) * 1000)
        if (samples.length === rounds) {
          Deferred.unsafeDone(done, Effect.succeed(samples))
          return Effect.as(ctx.stop(), true)
        }
        t0 = performance.now()
        return Effect.as(ctx.send(child, "crash"), true)
      }
    })
    yield* node.spawn(Tester, undefined)
    const sup = yield* Supervisor.start(
      node,
      Supervisor.oneForOne({ intensity: rounds + 1, period: "1 hour" }).pipe(
        Supervisor.child({ id: "child", behaviour: Notifying, args: undefined, name: "child" })
      )
    )
    const measured = yield* Deferred.await(done)
    check((yield* Supervisor.countChildren(node, sup)).active === 1, "one child")
    yield* node.exit(sup, Process.ExitReason.shutdown)
    yield* node.awaitExit(sup)
    return measured
  })

/**
 * µs from a child's crash to its replacement's `init` completing (median), observed without
 * polling: the new child's `init` sends `"up"` to the tester, which crashes the next one when
 * it gets it. Twenty supervisors of 1,000 restarts each warm up (V8 is still compiling after
 * one: a fresh supervisor's median read 16 µs after 1,000 restarts, 8-9 after 20,000) and a
 * fresh one is measured. 1,000 per supervisor, so that neither side's restart history (OTP
 * keeps every restart of the period in a list and filters it on each restart: 84 µs per
 * restart at 10,000) is longer than the measured rounds. Crash and supervisor reports are
 * off, as the Erlang side turns its logger off. The same in `bench/erlang/bench.escript`.
 */
const restart = ({ quick }: Size) =>
  withNode((node) =>
    Effect.gen(function*() {
      const rounds = quick ? 200 : 1000
      for (let i = 0; i < (quick ? 5 : 20); i++) yield* restartSamples(node, rounds)
      const samples = yield* restartSamples(node, rounds)
      samples.sort((a, b) => a - b)
      return samples[samples.length >> 1]!
    }), { log: { level: "None" } })

/**
 * ms of `start` (which starts a supervisor and its `n` children, checked), run three times,
 * each supervisor stopped after: the first two warm up (V8 compiles the paths as they run:
 * 270, 140, then 90-100 ms for 10k `startChild`s, built code; BEAM compiles a module when it
 * loads it) and the third is measured. The same in `bench/erlang/bench.escript`.
 */
const startWarm = (
  node: Node.NodeService,
  n: number,
  start: Effect.Effect<Process.Pid, unknown>
) =>
  Effect.gen(function*() {
    let ms = 0
    for (let round = 0; round < 3; round++) {
      const t = performance.now()
      const sup = yield* start
      ms = performance.now() - t
      check((yield* Supervisor.countChildren(node, sup)).active === n, `${n} children`)
      yield* node.exit(sup, Process.ExitReason.shutdown)
      yield* node.awaitExit(sup)
    }
    return ms
  })

/** ms to start a simple_one_for_one supervisor and 10k children, one `startChild` call each. */
const start10k = ({ quick }: Size) =>
  withNode((node) => {
    const n = quick ? 2_000 : 10_000
    return Effect.map(
      startWarm(
        node,
        n,
        Effect.gen(function*() {
          const sup = yield* Supervisor.start(node, Supervisor.simpleOneForOne({ id: "c", behaviour: Child, args: undefined }))
          for (let i = 0; i < n; i++) yield* Supervisor.startChild(node, sup, undefined)
          return sup
        })
      ),
      (ms) => ms * (10_000 / n)
    )
  })

/** ms to start a one_for_one supervisor whose child list holds 10k children (started inside the supervisor). */
const start10kStatic = ({ quick }: Size) =>
  withNode((node) => {
    const n = quick ? 2_000 : 10_000
    let spec = Supervisor.oneForOne()
    for (let i = 0; i < n; i++) spec = Supervisor.child({ id: `c${i}`, behaviour: Child, args: undefined })(spec)
    return Effect.map(startWarm(node, n, Supervisor.start(node, spec)), (ms) => ms * (10_000 / n))
  })

// ---------------------------------------------------------------------------
// Bare Effect baselines: a process is a fiber with a Queue (the naive design)

const baselineSpawnUs = ({ quick }: Size) =>
  Effect.runPromise(Effect.gen(function*() {
    const n = quick ? 20_000 : 100_000
    const fibers: Array<Fiber.RuntimeFiber<never>> = []
    const t = performance.now()
    for (let i = 0; i < n; i++) {
      const q = yield* Queue.unbounded<number>()
      fibers.push(yield* Effect.fork(Effect.forever(Queue.take(q))))
    }
    yield* Effect.yieldNow()
    const us = ((performance.now() - t) * 1000) / n
    check(fibers.length === n, "fibers")
    yield* Fiber.interruptAll(fibers)
    return us
  }))

const baselineSpawnBytes = ({ quick }: Size) =>
  Effect.runPromise(Effect.gen(function*() {
    const n = quick ? 20_000 : 100_000
    const fibers: Array<Fiber.RuntimeFiber<never>> = []
    gc()
    const before = process.memoryUsage().heapUsed
    for (let i = 0; i < n; i++) {
      const q = yield* Queue.unbounded<number>()
      fibers.push(yield* Effect.fork(Effect.forever(Queue.take(q))))
    }
    yield* Effect.yieldNow()
    gc()
    const bytes = (process.memoryUsage().heapUsed - before) / n
    yield* Fiber.interruptAll(fibers)
    return bytes
  }))

const baselineOneway = ({ quick }: Size) =>
  Effect.runPromise(Effect.gen(function*() {
    const n = quick ? 100_000 : 1_000_000
    const q = yield* Queue.unbounded<number>()
    const receiver = yield* Effect.fork(Effect.gen(function*() {
      for (let i = 0; i < n; i++) {
        const m = yield* Queue.take(q)
        if (m !== i) return yield* Effect.die(new Error("order"))
      }
    }))
    const t = performance.now()
    for (let i = 0; i < n; i++) yield* Queue.offer(q, i)
    yield* Fiber.join(receiver)
    return n / ((performance.now() - t) / 1000)
  }))

const baselineFanin = ({ quick }: Size) =>
  Effect.runPromise(Effect.gen(function*() {
    const n = quick ? 100_000 : 1_000_000
    const senders = 100
    const q = yield* Queue.unbounded<readonly [number, number]>()
    const next = new Array<number>(senders).fill(0)
    const receiver = yield* Effect.fork(Effect.gen(function*() {
      for (let i = 0; i < n; i++) {
        const [s, seq] = yield* Queue.take(q)
        if (next[s] !== seq) return yield* Effect.die(new Error("order"))
        next[s] = seq + 1
      }
    }))
    const t = performance.now()
    yield* Effect.forEach(
      Array.from({ length: senders }, (_, s) => s),
      (s) => Effect.gen(function*() {
        for (let i = 0; i < n / senders; i++) yield* Queue.offer(q, [s, i] as const)
      }),
      { concurrency: "unbounded", discard: true }
    )
    yield* Fiber.join(receiver)
    return n / ((performance.now() - t) / 1000)
  }))

const baselinePingpong = ({ quick }: Size) =>
  Effect.runPromise(Effect.gen(function*() {
    const n = quick ? 20_000 : 100_000
    const a = yield* Queue.unbounded<number>()
    const b = yield* Queue.unbounded<number>()
    const pong = yield* Effect.fork(Effect.forever(Effect.flatMap(Queue.take(b), (m) => Queue.offer(a, m))))
    const t = performance.now()
    for (let i = 0; i < n; i++) {
      yield* Queue.offer(b, i)
      const back = yield* Queue.take(a)
      if (back !== i) return yield* Effect.die(new Error("order"))
    }
    const rate = n / ((performance.now() - t) / 1000)
    yield* Fiber.interrupt(pong)
    return rate
  }))

/** Name, unit, run. Names are stable: they are compared run to run and with Erlang. */
export const workloads: ReadonlyArray<readonly [string, string, (size: Size) => Promise<number>]> = [
  ["spawn.us_per_process", "us", spawnUs],
  ["spawn.bytes_per_process", "bytes", spawnBytes],
  ["spawn.1m.seconds", "s", spawn1m],
  ["local.oneway.msgs_per_s", "msgs/s", oneway],
  ["local.pingpong.rt_per_s", "rt/s", pingpong],
  ["local.fanin.msgs_per_s", "msgs/s", fanin],
  ["local.call.per_s", "calls/s", call],
  ["local.refused_send.us", "us", refusedSend],
  ["local.call.conc100k_per_s", "calls/s", callConcurrent],
  ["supervisor.restart.us", "us", restart],
  ["supervisor.start10k.ms", "ms", start10k],
  ["supervisor.start10k_static.ms", "ms", start10kStatic],
  ["baseline.effect.spawn.us_per_process", "us", baselineSpawnUs],
  ["baseline.effect.spawn.bytes_per_process", "bytes", baselineSpawnBytes],
  ["baseline.effect.oneway.msgs_per_s", "msgs/s", baselineOneway],
  ["baseline.effect.pingpong.rt_per_s", "rt/s", baselinePingpong],
  ["baseline.effect.fanin.msgs_per_s", "msgs/s", baselineFanin]
]
