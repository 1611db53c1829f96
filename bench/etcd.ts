/**
 * The etcd registrar against a real etcd (started here, as the tests do). Prints
 * `{"cached": n, "uncached": n, "left_ms": n, "ttl_s": n}` or `{"skip": "why"}`:
 *
 * - `cached`: lookups/s answered from the watched copy of the cluster (the default);
 * - `uncached`: lookups/s with `cache: false`, each a read from etcd (one caller at a time);
 * - `left_ms`: from SIGKILL of a node (an OS process) to the moment all 4 watching peers saw it
 *   leave; bounded below by the lease TTL (`ttl_s`), which it mostly measures.
 *
 *   node --import tsx bench/etcd.ts [--quick]
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { Scope } from "effect"
import { Duration, Effect, Logger, LogLevel, Schedule, Stream } from "effect"
import * as Etcd from "../src/Etcd/index.js"
import { findEtcd, startEtcd } from "../test/fixtures/etcd.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const quick = process.argv.includes("--quick")
const TTL = 2
const lookups = quick ? 2_000 : 20_000
const uncachedLookups = quick ? 300 : 3_000

const registered = (endpoint: string, name: string, cache = true) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const r = Etcd.registrar({ endpoints: endpoint, ttl: Duration.seconds(TTL), cluster: "test", cache })
      yield* r.register(name, 1)
      return r
    }),
    (r) => r.close
  )

/** Lookups/s of `registrar` for a node that exists, checking every answer. */
const rate = (registrar: Etcd.EtcdRegistrar, n: number, port: number) =>
  Effect.gen(function*() {
    const t = performance.now()
    for (let i = 0; i < n; i++) {
      const route = yield* registrar.lookup("target@127.0.0.1")
      if (route?.port !== port) throw new Error(`verification failed: lookup answered ${JSON.stringify(route)}`)
    }
    return n / ((performance.now() - t) / 1000)
  })

/** Starts a node in its own process (test/fixtures/etcd-node.ts); its pid once it printed `ready`. */
const startVictim = (endpoint: string) =>
  Effect.acquireRelease(
    Effect.async<import("node:child_process").ChildProcess, Error>((resume) => {
      const child = spawn(process.execPath, ["--import", "tsx", `${root}test/fixtures/etcd-node.ts`, "victim@127.0.0.1", endpoint, String(TTL)], {
        cwd: root,
        stdio: ["ignore", "pipe", "inherit"]
      })
      const timer = setTimeout(() => resume(Effect.fail(new Error("the victim node did not start in 60 s"))), 60_000)
      let out = ""
      child.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString()
        if (out.includes("ready ")) {
          clearTimeout(timer)
          resume(Effect.succeed(child))
        }
      })
    }),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

const program: Effect.Effect<Record<string, number | string>, unknown, Scope.Scope> = Effect.gen(function*() {
  if (findEtcd() === undefined) return { skip: "etcd is not installed (apt-get install -y etcd-server)" } as Record<string, string>
  const etcd = yield* startEtcd()
  const target = Etcd.registrar({ endpoints: etcd.endpoint, ttl: Duration.seconds(TTL), cluster: "test" })
  yield* Effect.acquireRelease(target.register("target@127.0.0.1", 4242), () => target.close)
  const cachedRegistrar = yield* registered(etcd.endpoint, "reader@127.0.0.1")
  const uncachedRegistrar = yield* registered(etcd.endpoint, "direct@127.0.0.1", false)
  // the watch delivers the target to the cached reader
  yield* cachedRegistrar.lookup("target@127.0.0.1").pipe(
    Effect.filterOrFail((r) => r !== undefined, () => "not yet"),
    Effect.retry(Schedule.spaced("10 millis").pipe(Schedule.upTo("10 seconds")))
  )
  yield* rate(cachedRegistrar, 200, 4242)
  const cached = yield* rate(cachedRegistrar, lookups, 4242)
  yield* rate(uncachedRegistrar, 20, 4242)
  const uncached = yield* rate(uncachedRegistrar, uncachedLookups, 4242)

  const peers = yield* Effect.all(["p1", "p2", "p3", "p4"].map((p) => registered(etcd.endpoint, `${p}@127.0.0.1`)))
  const victim = yield* startVictim(etcd.endpoint)
  const seenAt = new Map<number, number>()
  yield* Effect.forEach(peers, (peer, i) =>
    Effect.forkScoped(Stream.runForEach(peer.events, (e) =>
      Effect.sync(() => {
        if (e._tag === "NodeLeft" && e.node === "victim@127.0.0.1" && !seenAt.has(i)) seenAt.set(i, performance.now())
      }))))
  // every peer knows the victim before it dies
  for (const peer of peers) {
    yield* peer.nodes.pipe(
      Effect.filterOrFail((ns) => ns.includes("victim@127.0.0.1"), () => "not yet"),
      Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("10 seconds")))
    )
  }
  const killedAt = performance.now()
  victim.kill("SIGKILL")
  const deadline = killedAt + (TTL + 10) * 1000
  while (seenAt.size < peers.length) {
    if (performance.now() > deadline) throw new Error(`verification failed: ${4 - seenAt.size} peers did not see the node leave`)
    yield* Effect.sleep("5 millis")
  }
  const leftMs = Math.max(...seenAt.values()) - killedAt
  return { cached, uncached, left_ms: leftMs, ttl_s: TTL } as Record<string, number>
})

Effect.runPromise(Effect.scoped(program).pipe(Logger.withMinimumLogLevel(LogLevel.Error))).then(
  (result) => {
    process.stdout.write(JSON.stringify(result) + "\n")
    process.exit(0)
  },
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  }
)
