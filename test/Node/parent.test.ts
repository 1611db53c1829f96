import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Process as P } from "../../src/index.js"
import { Process } from "../../src/index.js"
import { cluster, Counter } from "../fixtures/dist.js"

/** Traps exits, forwards `Exit` messages to `probe`, and tells it when terminate runs and why. */
const RemoteTrapper = Process.make({
  name: "RemoteTrapper",
  options: { trapExit: true },
  init: (probe: P.Pid) => Effect.succeed(probe),
  handleInfo: (info, probe, ctx) => Effect.as(ctx.send(probe, info), probe),
  terminate: (reason, probe, ctx) => Effect.orDie(ctx.send(probe, `terminate ${reason._tag}`))
})

/** Spawns a RemoteTrapper on b linked (so it is its parent), hands its pid to `to`; crashes on "crash". */
const RemoteParent = Process.make({
  name: "RemoteParent",
  init: (args: { readonly to: P.Pid; readonly probe: P.Pid }) => Effect.succeed(args),
  handleMessage: (m: "spawn" | "crash", args, ctx) =>
    m === "crash"
      ? Effect.fail("parent crashed")
      : ctx.spawnRemoteLink("b@127.0.0.1", "RemoteTrapper", args.probe).pipe(
        Effect.flatMap((pid) => ctx.send(args.to, pid)),
        Effect.orDie,
        Effect.as(args)
      )
})

describe("exit signals from a remote parent", () => {
  it.scopedLive("a process spawned with spawnRemoteLink runs terminate when its (remote) parent dies", () =>
    Effect.gen(function*() {
      const { make } = yield* cluster
      const a = yield* make("a@127.0.0.1")
      const b = yield* make("b@127.0.0.1", { allowSpawn: [Counter, RemoteTrapper] })
      const parent = yield* a.spawn(RemoteParent, { to: a.probe, probe: b.probe })
      yield* a.send(parent, "spawn")
      const child = (yield* a.receive("2 seconds")) as P.Pid
      assert.strictEqual(child.node, "b@127.0.0.1")
      // From someone else (the node a): an Exit message.
      yield* a.node.exit(child, Process.ExitReason.error("not the parent"))
      assert.instanceOf(yield* b.receive("2 seconds"), Process.Exit)
      yield* a.send(parent, "crash")
      assert.strictEqual(yield* b.receive("2 seconds"), "terminate error")
      assert.strictEqual((yield* b.exitReason(child))._tag, "error")
    }))
})
