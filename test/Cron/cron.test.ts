import * as KeyValueStore from "@effect/platform/KeyValueStore"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Option, TestClock } from "effect"
import { Cron, Node, Process, Supervisor, Testing } from "../../src/index.js"

const start = Date.parse("2024-01-15T00:00:00Z")

/** Everything the probe has got so far (it stops at 10 ms of real time without a new message). */
const drainProbe = (env: Testing.TestEnv) =>
  Effect.gen(function*() {
    const got: Array<unknown> = []
    for (;;) {
      const quiet = yield* env.expectNoMessage("10 millis").pipe(Effect.either)
      if (Either.isRight(quiet)) return got
      got.push(quiet.left.received)
    }
  })

/** The next `n` probe messages, then nothing more. */
const receiveExactly = (env: Testing.TestEnv, n: number) =>
  Effect.gen(function*() {
    const got = yield* Effect.forEach(Array.from({ length: n }), () => env.receive())
    yield* env.expectNoMessage("10 millis")
    return got
  })

const iso = (run: Cron.Run) => run.scheduledAt.toISOString()

/** What a job sends the probe: `${job}@${scheduledAt}`, and `late` when it is a catch-up. */
const describeRun = (run: Cron.Run) => `${run.job}@${iso(run)}${run.late ? " late" : ""}`

const setUpWith = (options: Node.NodeOptions) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(start)
    return yield* Testing.make(options)
  })

const setUp = setUpWith({})

describe("Cron on TestClock", () => {
  it.scoped("a day of jobs: every 15 minutes, hourly at :30:15 (seconds), daily at 09:00 in two time zones", () =>
    Effect.gen(function*() {
      const env = yield* setUp
      const cron = yield* Cron.start(env.node)
            yield* cron.add({ name: "quarter", schedule: "*/15 * * * *", action: Cron.sendWith(env.probe, describeRun) })
      yield* cron.add({ name: "hourly", schedule: "15 30 * * * *", action: Cron.sendWith(env.probe, describeRun) })
      yield* cron.add({ name: "paris", schedule: "0 9 * * *", timeZone: "Europe/Paris", action: Cron.sendWith(env.probe, describeRun) })
      yield* cron.add({ name: "ny", schedule: "0 9 * * *", timeZone: "America/New_York", action: Cron.sendWith(env.probe, describeRun) })
      const before = performance.now()
      yield* TestClock.adjust("1 day")
      const got = (yield* receiveExactly(env, 96 + 24 + 2)) as Array<string>
      // A simulated day: ~150 timer wake-ups, each costing TestClock a few setTimeout(0) yields (~2.5 s here).
      assert.isBelow(performance.now() - before, 30_000)
      const of = (job: string) => got.filter((m) => m.startsWith(`${job}@`))
      assert.strictEqual(of("quarter").length, 96)
      assert.strictEqual(of("quarter")[0], "quarter@2024-01-15T00:15:00.000Z")
      assert.strictEqual(of("quarter")[95], "quarter@2024-01-16T00:00:00.000Z")
      assert.strictEqual(of("hourly").length, 24)
      assert.strictEqual(of("hourly")[0], "hourly@2024-01-15T00:30:15.000Z")
      // 09:00 in Paris (UTC+1 in January) and in New York (UTC-5).
      assert.deepStrictEqual(of("paris"), ["paris@2024-01-15T08:00:00.000Z"])
      assert.deepStrictEqual(of("ny"), ["ny@2024-01-15T14:00:00.000Z"])
      // In time order across jobs.
      const times = got.map((m) => Date.parse(m.split("@")[1]!))
      assert.deepStrictEqual(times, [...times].sort((a, b) => a - b))
      const listing = yield* cron.list
      assert.deepStrictEqual(listing.map((j) => j.name), ["quarter", "hourly", "paris", "ny"])
      const quarter = listing[0]!
      assert.strictEqual(quarter.runs, 96)
      assert.strictEqual(quarter.skipped, 0)
      assert.deepStrictEqual(quarter.lastRun, Option.some(new Date("2024-01-16T00:00:00Z")))
      assert.deepStrictEqual(quarter.nextRun, Option.some(new Date("2024-01-16T00:15:00Z")))
      assert.deepStrictEqual(listing[2]!.nextRun, Option.some(new Date("2024-01-16T08:00:00Z")))
      assert.strictEqual(listing[2]!.action, `send to ${env.probe}`)
    }))

  it.scoped("jobs are added, disabled, enabled and removed at run time", () =>
    Effect.gen(function*() {
      const env = yield* setUp
      const cron = yield* Cron.start(env.node)
      yield* cron.add({ name: "m", schedule: "* * * * *", action: Cron.sendWith(env.probe, describeRun) })
      yield* TestClock.adjust("2 minutes")
      assert.deepStrictEqual(yield* drainProbe(env), ["m@2024-01-15T00:01:00.000Z", "m@2024-01-15T00:02:00.000Z"])
      yield* cron.disable("m")
      const disabled = yield* cron.get("m")
      assert.isFalse(disabled.enabled)
      assert.isTrue(Option.isNone(disabled.nextRun))
      yield* TestClock.adjust("5 minutes")
      assert.deepStrictEqual(yield* drainProbe(env), [])
      // Enabled again at 00:07:00: runs from the next minute on, without catching up on 3..7.
      yield* cron.enable("m")
      assert.deepStrictEqual((yield* cron.get("m")).nextRun, Option.some(new Date("2024-01-15T00:08:00Z")))
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* drainProbe(env), ["m@2024-01-15T00:08:00.000Z"])
      yield* cron.remove("m")
      yield* TestClock.adjust("5 minutes")
      assert.deepStrictEqual(yield* drainProbe(env), [])
      assert.deepStrictEqual(yield* cron.list, [])
      const gone = yield* cron.remove("m").pipe(Effect.flip)
      assert.strictEqual(gone._tag, "JobNotFound")
      assert.include(gone.message, `no job named "m"`)
      yield* cron.add({ name: "again", schedule: "* * * * *", enabled: false, action: Cron.send(env.probe, "x") })
      const twice = yield* cron.add({ name: "again", schedule: "* * * * *", action: Cron.send(env.probe, "x") }).pipe(Effect.flip)
      assert.strictEqual(twice._tag, "JobExists")
      assert.isTrue(Option.isNone((yield* cron.get("again")).nextRun))
      assert.strictEqual((yield* cron.enable("nope").pipe(Effect.flip))._tag, "JobNotFound")
    }))

  it.scoped("bad expressions and time zones give InvalidCronExpression saying what is wrong", () =>
    Effect.gen(function*() {
      const env = yield* setUp
      const cron = yield* Cron.start(env.node)
      const attempt = (schedule: string, timeZone?: string) =>
        cron.add({ name: "bad", schedule, timeZone, action: Cron.send(env.probe, "x") }).pipe(Effect.flip)
      const cases = [
        ["61 * * * *", undefined],
        ["* * *", undefined],
        ["every day", undefined],
        ["0 0 30 2 *", undefined],
        ["0 9 * * *", "Mars/Olympus_Mons"]
      ] as const
      for (const [schedule, zone] of cases) {
        const error = yield* attempt(schedule, zone)
        assert.strictEqual(error._tag, "InvalidCronExpression", schedule)
        assert.include(error.message, schedule)
      }
      assert.include((yield* attempt("0 0 30 2 *")).message, "never matches")
      assert.include((yield* attempt("0 9 * * *", "Mars/Olympus_Mons")).message, "unknown time zone")
      const empty = yield* cron.add({ name: " ", schedule: "* * * * *", action: Cron.send(env.probe, "x") }).pipe(Effect.flip)
      assert.strictEqual(empty._tag, "InvalidJob")
      assert.deepStrictEqual(yield* cron.list, [])
      // The same checks at start: a tagged error, not a crash.
      const failed = yield* Cron.start(env.node, {
        name: "other",
        jobs: [{ name: "x", schedule: "* * * * * * *", action: Cron.send(env.probe, "x") }]
      }).pipe(Effect.flip)
      assert.strictEqual(failed._tag, "InvalidCronExpression")
      assert.isTrue(Option.isNone(yield* env.node.whereis("other")))
    }))

  it.scoped("a spawn job starts a process per run, with arguments from the run; a failing one is recorded, not fatal", () =>
    Effect.gen(function*() {
      const env = yield* setUp
      const Worker = Process.make({
        name: "Worker",
        init: (args: { readonly probe: Process.Pid; readonly at: string }, ctx) =>
          Effect.as(Effect.zipRight(ctx.send(args.probe, `worker for ${args.at}`), ctx.stop()), undefined)
      })
      const Broken = Process.make({ name: "Broken", init: () => Effect.fail("no database") })
      const cron = yield* Cron.start(env.node)
      yield* cron.add({
        name: "work",
        schedule: "0 * * * *",
        action: Cron.spawnWith(Worker, (run) => ({ probe: env.probe, at: iso(run) }))
      })
      yield* cron.add({ name: "broken", schedule: "30 * * * *", action: Cron.spawn(Broken, undefined) })
      yield* TestClock.adjust("2 hours")
      assert.deepStrictEqual(yield* drainProbe(env), ["worker for 2024-01-15T01:00:00.000Z", "worker for 2024-01-15T02:00:00.000Z"])
      const broken = yield* cron.get("broken")
      assert.strictEqual(broken.runs, 2)
      assert.include(Option.getOrThrow(broken.lastError), "InitFailed")
      assert.strictEqual((yield* cron.get("work")).action, "spawn Worker")
      assert.isTrue(Option.isSome(yield* env.node.info(cron.pid)))
    }))

  it.scoped("a busy scheduler: missed runs are skipped, or run once late, as each job says", () =>
    Effect.gen(function*() {
      // A worker whose init takes 3.5 minutes keeps the scheduler busy (spawn waits for init, here up to 10 minutes).
      const env = yield* setUpWith({ process: { spawnTimeout: "10 minutes" } })
      const Slow = Process.make({ name: "Slow", init: () => Effect.sleep("210 seconds") })
      const cron = yield* Cron.start(env.node)
      yield* cron.add({ name: "a-slow", schedule: "1 1 * * * *", missed: "skip", action: Cron.spawn(Slow, undefined) })
            yield* cron.add({ name: "skip", schedule: "* * * * *", missed: "skip", action: Cron.sendWith(env.probe, describeRun) })
      yield* cron.add({ name: "once", schedule: "* * * * *", missed: "runOnce", action: Cron.sendWith(env.probe, describeRun) })
      yield* TestClock.adjust("30 seconds")
      // 00:01 runs on time; at 00:01:01 the slow spawn blocks the scheduler until 00:04:31.
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* drainProbe(env), ["skip@2024-01-15T00:01:00.000Z", "once@2024-01-15T00:01:00.000Z"])
      yield* Effect.forEach(Array.from({ length: 20 }), () => TestClock.adjust("10 seconds"), { discard: true })
      // At 00:04:31 the scheduler is free again: 00:02, 00:03 and 00:04 were missed.
      assert.deepStrictEqual(yield* drainProbe(env), ["once@2024-01-15T00:04:00.000Z late"])
      const skip = yield* cron.get("skip")
      const once = yield* cron.get("once")
      assert.strictEqual(skip.skipped, 3)
      assert.strictEqual(skip.runs, 1)
      assert.strictEqual(once.runs, 2)
      assert.strictEqual(once.skipped, 2)
      assert.deepStrictEqual(once.nextRun, Option.some(new Date("2024-01-15T00:05:00Z")))
      const warnings = (yield* env.logs).filter((l) => l.level === "WARN" && l.message.includes("missed"))
      assert.isAbove(warnings.length, 0)
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* drainProbe(env), ["skip@2024-01-15T00:05:00.000Z", "once@2024-01-15T00:05:00.000Z"])
    }))

  it.scoped("a node that was stopped: a job with lastRun runs once at start with runOnce, not with skip", () =>
    Effect.gen(function*() {
      const env = yield* setUp
      yield* TestClock.adjust("20 minutes")
            // Last ran at 21:00 the day before; 22:00, 23:00 and 00:00 were missed while the node was down (until 00:20).
      const lastRun = new Date("2024-01-14T21:00:00Z")
      const cron = yield* Cron.start(env.node, {
        jobs: [
          { name: "once", schedule: "0 * * * *", missed: "runOnce", lastRun, action: Cron.sendWith(env.probe, describeRun) },
          { name: "skip", schedule: "0 * * * *", missed: "skip", lastRun, action: Cron.sendWith(env.probe, describeRun) },
          { name: "fresh", schedule: "0 * * * *", missed: "runOnce", lastRun: start, action: Cron.sendWith(env.probe, describeRun) }
        ]
      })
      // "fresh" ran at 00:00 and missed nothing.
      assert.deepStrictEqual(yield* drainProbe(env), ["once@2024-01-15T00:00:00.000Z late"])
      yield* TestClock.adjust("40 minutes")
      assert.deepStrictEqual(yield* drainProbe(env), [
        "once@2024-01-15T01:00:00.000Z",
        "skip@2024-01-15T01:00:00.000Z",
        "fresh@2024-01-15T01:00:00.000Z"
      ])
      assert.strictEqual((yield* cron.get("skip")).skipped, 3)
      assert.strictEqual((yield* cron.get("once")).skipped, 2)
    }))

  it.scoped("with a store, runs missed while the node was stopped are caught up once (runOnce) or skipped", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(start)
      const store = yield* KeyValueStore.KeyValueStore.pipe(Effect.provide(KeyValueStore.layerMemory))
      const jobs = (probe: Process.Pid): ReadonlyArray<Cron.Job> => [
        { name: "once", schedule: "0 * * * *", missed: "runOnce", action: Cron.sendWith(probe, describeRun) },
        { name: "skip", schedule: "0 * * * *", missed: "skip", action: Cron.sendWith(probe, describeRun) }
      ]
      // The node's first life: runs at 01:00 and 02:00, stops at 02:30.
      yield* Effect.scoped(
        Effect.gen(function*() {
          const env = yield* Testing.make({ name: "first@localhost" })
          yield* Cron.start(env.node, { store, jobs: jobs(env.probe) })
          yield* TestClock.adjust("150 minutes")
          assert.strictEqual((yield* drainProbe(env)).length, 4)
        })
      )
      assert.deepStrictEqual(yield* store.get("rain/cron/once"), Option.some(String(Date.parse("2024-01-15T02:00:00Z"))))
      // Down until 05:10: 03:00, 04:00 and 05:00 were missed.
      yield* TestClock.adjust("160 minutes")
      const env = yield* Testing.make({ name: "second@localhost" })
      const cron = yield* Cron.start(env.node, { store, jobs: jobs(env.probe) })
      assert.deepStrictEqual(yield* drainProbe(env), ["once@2024-01-15T05:00:00.000Z late"])
      assert.strictEqual((yield* cron.get("once")).skipped, 2)
      assert.strictEqual((yield* cron.get("skip")).skipped, 3)
      assert.deepStrictEqual((yield* cron.get("skip")).lastRun, Option.some(new Date("2024-01-15T02:00:00Z")))
      yield* TestClock.adjust("50 minutes")
      assert.deepStrictEqual(yield* drainProbe(env), ["once@2024-01-15T06:00:00.000Z", "skip@2024-01-15T06:00:00.000Z"])
      // Removing a job forgets its history.
      yield* cron.remove("skip")
      assert.isTrue(Option.isNone(yield* store.get("rain/cron/skip")))
    }))

  it.scoped("missed runs long ago: a catch-up at start runs late, once", () =>
    Effect.gen(function*() {
      const env = yield* setUp
      const cron = yield* Cron.start(env.node)
      yield* cron.add({
        name: "daily",
        schedule: "0 3 * * *",
        missed: "runOnce",
        lastRun: Date.parse("2024-01-10T03:00:00Z"),
        action: Cron.sendWith(env.probe, describeRun)
      })
      assert.deepStrictEqual(yield* drainProbe(env), ["daily@2024-01-14T03:00:00.000Z late"])
      assert.strictEqual((yield* cron.get("daily")).skipped, 3)
    }))

  it.scoped("the scheduler is a process: supervised, it restarts with its initial jobs; layer and lookup find it", () =>
    Effect.gen(function*() {
      const env = yield* setUp
      const jobs: ReadonlyArray<Cron.Job> = [{ name: "tick", schedule: "* * * * *", action: Cron.send(env.probe, "tick") }]
      const tree = Supervisor.oneForOne({ intensity: 3, period: "5 seconds" }).pipe(
        Supervisor.child({ id: "cron", behaviour: Cron.Scheduler, args: { jobs, grace: "1 second" }, name: "rain/cron" })
      )
      yield* Supervisor.start(env.node, tree)
      const first = Option.getOrThrow(yield* Cron.lookup(env.node))
      yield* first.add({ name: "extra", schedule: "* * * * *", action: Cron.send(env.probe, "extra") })
      yield* env.node.exit(first.pid, Process.ExitReason.kill)
      yield* env.exitReason(first.pid)
      const second = yield* Effect.repeat(Cron.lookup(env.node), {
        until: (found) => Option.isSome(found) && found.value.pid.id !== first.pid.id,
        times: 100
      }).pipe(Effect.map(Option.getOrThrow))
      // Jobs added at run time are gone with the old process; the initial ones are back.
      assert.deepStrictEqual((yield* second.list).map((j) => j.name), ["tick"])
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* drainProbe(env), ["tick"])
    }))

  it.scoped("Cron.layer starts the scheduler on the Node in context and stops it on release", () =>
    Effect.gen(function*() {
      const env = yield* setUp
      const pid = yield* Effect.scoped(
        Effect.gen(function*() {
          const cron = yield* Cron.Cron
          yield* cron.add({ name: "tick", schedule: "* * * * *", action: Cron.send(env.probe, "tick") })
          yield* TestClock.adjust("1 minute")
          assert.deepStrictEqual(yield* drainProbe(env), ["tick"])
          return cron.pid
        }).pipe(Effect.provide(Cron.layer().pipe(Layer.provide(Layer.succeed(Node.Node, env.node)))))
      )
      assert.strictEqual((yield* env.exitReason(pid))._tag, "shutdown")
      assert.isTrue(Option.isNone(yield* Cron.lookup(env.node)))
    }))
})

describe("Cron on the real clock", () => {
  it.scopedLive("a seconds-level job runs every second, on time", () =>
    Effect.gen(function*() {
      const env = yield* Testing.make()
      const cron = yield* Cron.start(env.node)
      yield* cron.add({
        name: "every-second",
        schedule: "* * * * * *",
        action: Cron.sendWith(env.probe, (run) => run)
      })
      const first = (yield* env.receive("5 seconds")) as Cron.Run
      const second = (yield* env.receive("5 seconds")) as Cron.Run
      for (const run of [first, second]) {
        assert.strictEqual(run.scheduledAt.getMilliseconds(), 0)
        assert.isFalse(run.late)
        const lateness = run.firedAt.getTime() - run.scheduledAt.getTime()
        assert.isAtLeast(lateness, 0)
        assert.isAtMost(lateness, 1000) // within grace, or it would have been skipped
      }
      // One second apart (more only if the machine was so loaded that a run was skipped).
      const apart = second.scheduledAt.getTime() - first.scheduledAt.getTime()
      assert.isAbove(apart, 0)
      assert.strictEqual(apart % 1000, 0)
      const info = yield* cron.get("every-second")
      assert.isAtLeast(info.runs, 2)
      assert.isAbove(Option.getOrThrow(info.nextRun).getTime(), second.scheduledAt.getTime())
    }))
})
