import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { Duration, Effect, Schedule, Stream } from "effect"
import { Process, Registrar } from "../../src/index.js"
import * as Etcd from "../../src/Etcd/index.js"
import * as Testing from "../testing.js"
import { startEtcd } from "../fixtures/etcd.js"

/** The lease TTL of every node here: a SIGKILLed node is seen to leave within about this long. */
const TTL = 2

interface Child {
  readonly name: string
  readonly child: ChildProcess
  /** Every line it printed so far. */
  readonly lines: Array<string>
}

/**
 * Starts test/fixtures/etcd-node.ts as an OS process (tsx compiles Rain at start: tens of
 * seconds when the machine's cores are busy); resolves when it printed `ready`.
 */
const startNode = (name: string, endpoint: string, applications: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<Child>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ["--import", "tsx", "test/fixtures/etcd-node.ts", name, endpoint, String(TTL), ...applications],
          { stdio: ["ignore", "pipe", "inherit"] }
        )
        const lines: Array<string> = []
        const timer = setTimeout(() => reject(new Error(`${name} did not start in 50 s`)), 50_000)
        let rest = ""
        child.stdout!.on("data", (chunk: Buffer) => {
          rest += chunk.toString()
          let i: number
          while ((i = rest.indexOf("\n")) >= 0) {
            lines.push(rest.slice(0, i))
            rest = rest.slice(i + 1)
          }
          if (lines.some((l) => l.startsWith("ready "))) {
            clearTimeout(timer)
            resolve({ name, child, lines })
          }
        })
        child.once("exit", (code, signal) => reject(new Error(`${name} exited with ${code ?? signal}`)))
      })
    ),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )

/** Polls `check` every 100 ms until it holds; fails with `what` after `within`. */
const eventually = <E>(what: string, check: Effect.Effect<boolean, E>, within: Duration.DurationInput = "15 seconds") =>
  check.pipe(
    Effect.orElseSucceed(() => false),
    Effect.filterOrFail((ok) => ok, () => what),
    Effect.retry(Schedule.spaced("100 millis")),
    Effect.timeoutFail({ duration: within, onTimeout: () => `not within ${Duration.format(Duration.decode(within))}: ${what}` })
  )

const names = ["n1", "n2", "n3", "n4", "n5"].map((n) => `${n}@127.0.0.1`)
const [n1, n2, n3, n4, n5] = names as [string, string, string, string, string]
const T = "t@127.0.0.1"
const observer = "observer@127.0.0.1"

describe("etcd cluster", () => {
  it.scopedLive("five OS-process nodes join through etcd, find each other and their applications; a SIGKILLed one leaves within the TTL; an etcd restart is survived", () =>
    Effect.gen(function*() {
      const etcd = yield* startEtcd()
      const started = yield* Effect.all(
        names.map((name, i) => startNode(name, etcd.endpoint, i < 3 ? ["web"] : i === 3 ? ["db"] : [])),
        { concurrency: "unbounded" }
      )
      const children = new Map(started.map((c) => [c.name, c]))
      const registrar = Etcd.registrar({ endpoints: etcd.endpoint, ttl: `${TTL} seconds`, cluster: "test" })
      const t = yield* Testing.make({ name: T, log: { level: "Error" }, network: { cookie: "test-cookie", registrar } })
      const seen: Array<Registrar.ClusterEvent> = []
      yield* Effect.forkScoped(Stream.runForEach(registrar.events, (e) => Effect.sync(() => seen.push(e))))

      yield* eventually("every node is listed", Effect.map(registrar.nodes, (ns) => ns.length === 6))
      assert.deepStrictEqual(yield* registrar.nodes, [...names, T].sort())

      // by name only: t reaches n1 through etcd, n1 reaches n2, ... n4 reaches n5
      const hop = (first: string, via: ReadonlyArray<string>) =>
        t.call(Process.name("echo", first) as unknown as Process.Ref<never, any>, { via, trail: [] } as never, "20 seconds")
      assert.deepStrictEqual(yield* hop(n1, [n2, n3, n4, n5]), names)
      assert.deepStrictEqual(yield* hop(n5, [n3, n1]), [n5, n3, n1])

      // application discovery
      const nodesOf = (app: string) => Effect.map(registrar.resolveApplication(app), (rs) => rs.map((r) => r.node))
      yield* eventually("web and db are announced", Effect.map(nodesOf("web"), (ns) => ns.length === 3))
      assert.deepStrictEqual(yield* nodesOf("web"), [n1, n2, n3])
      const [db] = yield* registrar.resolveApplication("db")
      assert.deepStrictEqual(db, { name: "db", node: n4, version: "1.0.0", mode: "temporary", weight: 100 })
      assert.deepStrictEqual(yield* registrar.resolveApplication("nothing"), [])

      // shared configuration, seen by the others
      yield* registrar.setConfig("pool.size", { min: 1, max: 8 })
      const other = Etcd.registrar({ endpoints: etcd.endpoint, ttl: `${TTL} seconds`, cluster: "test" })
      yield* other.register(observer, 1)
      yield* Effect.addFinalizer(() => other.close)
      assert.deepStrictEqual(yield* other.getConfig("pool.size"), { min: 1, max: 8 })
      const bad = yield* Effect.flip(registrar.setConfig("pool.size", () => 1))
      assert.strictEqual(bad._tag, "RegistrarError")
      assert.match(bad.message, /not JSON/)
      yield* other.close

      // SIGKILL: no goodbye, the lease expires; every other node sees n5 leave
      const killedAt = Date.now()
      children.get(n5)!.child.kill("SIGKILL")
      for (const name of [n1, n2, n3, n4]) {
        yield* eventually(`${name} sees ${n5} leave`, Effect.sync(() => children.get(name)!.lines.includes(`left ${n5}`)), `${TTL + 5} seconds`)
      }
      yield* eventually(`${T} sees ${n5} leave`, Effect.map(registrar.nodes, (ns) => !ns.includes(n5)), "5 seconds")
      assert.isTrue(seen.some((e) => e._tag === "NodeLeft" && e.node === n5))
      const leftAfter = Date.now() - killedAt
      assert.isBelow(leftAfter, (TTL + 5) * 1000)
      yield* eventually("n5's route is gone", Effect.map(nodesOf("web"), (ns) => ns.length === 3 && !ns.includes(n5)), "5 seconds")

      // etcd crashes: a tagged error while it is away, writes refused, lookups still answered
      const mark = new Map(Array.from(children, ([name, c]) => [name, c.lines.length]))
      const seenMark = seen.length
      yield* etcd.stop
      const down = yield* eventually("the registrar reports etcd lost", Effect.map(Effect.either(registrar.status), (e) => e._tag === "Left"), "10 seconds").pipe(
        Effect.zipRight(Effect.flip(registrar.status))
      )
      assert.strictEqual(down._tag, "RegistrarError")
      assert.include(down.message, etcd.endpoint)
      assert.strictEqual((yield* Effect.flip(registrar.setConfig("k", 1)))._tag, "RegistrarError")
      assert.deepStrictEqual(yield* registrar.lookup(n1), { host: "127.0.0.1", port: Number(children.get(n1)!.lines[0]!.split(" ")[1]) })

      // back without its data: every node registers again, applications included
      yield* etcd.start({ wipe: true })
      yield* eventually("the registrar reconnects", Effect.map(Effect.either(registrar.status), (e) => e._tag === "Right"))
      yield* eventually("every live node registered again", Effect.map(registrar.nodes, (ns) => ns.length === 5), "20 seconds")
      assert.deepStrictEqual(yield* registrar.nodes, [n1, n2, n3, n4, T])
      yield* eventually("applications announced again", Effect.map(nodesOf("web"), (ns) => ns.length === 3))
      assert.deepStrictEqual(yield* nodesOf("db"), [n4])

      // watches resumed: a node started now is seen by everyone and reached by name
      const n6 = "n6@127.0.0.1"
      yield* startNode(n6, etcd.endpoint, ["web"])
      for (const name of [n1, n2, n3, n4]) {
        yield* eventually(`${name} sees ${n6} join`, Effect.sync(() => children.get(name)!.lines.includes(`joined ${n6}`)))
      }
      assert.deepStrictEqual(yield* hop(n2, [n6, n4]), [n2, n6, n4])
      yield* eventually("n6 runs web", Effect.map(nodesOf("web"), (ns) => ns.includes(n6)))

      // the outage made no live node look gone (nodes registering again after others are not reported as left)
      for (const name of [n1, n2, n3, n4]) {
        assert.deepStrictEqual(children.get(name)!.lines.slice(mark.get(name)).filter((l) => l.startsWith("left ")), [])
      }
      assert.isTrue(seen.some((e) => e._tag === "NodeJoined" && e.node === n6))
      assert.deepStrictEqual(seen.slice(seenMark).filter((e) => e._tag === "NodeLeft"), [])
    }), 180_000)
})
