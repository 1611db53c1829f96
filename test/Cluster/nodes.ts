/**
 * The module the cluster tests run in every thread node: an echo server registered as
 * `echo` (by an application), and behaviours the tests spawn remotely: a relay that calls
 * another node's `echo`, a watcher that links to and monitors a process and forwards the
 * signals, a process that crashes its whole thread, and one that reports its thread's heap
 * limits.
 */
import { Effect, Schema } from "effect"
import { resourceLimits } from "node:worker_threads"
import * as Application from "../../src/Application/index.js"
import * as Cluster from "../../src/Cluster/index.js"
import * as Process from "../../src/Process/index.js"

/** Answers with the text and the node that answered. */
export class Echo extends Schema.TaggedRequest<Echo>()("test/Cluster/Echo", {
  failure: Schema.Never,
  success: Schema.String,
  payload: { text: Schema.String }
}) {}

/** Asks a relay to call `echo` on `node` and answer with what it said. */
export class Relay extends Schema.TaggedRequest<Relay>()("test/Cluster/Relay", {
  failure: Schema.String,
  success: Schema.String,
  payload: { node: Schema.String, text: Schema.String }
}) {}

/** Tells a watcher to link to and monitor `target`. */
export class Watch extends Schema.TaggedClass<Watch>()("test/Cluster/Watch", { target: Process.Pid }) {}

/** Sent by a sender to `to`: one of `count`. */
export class Tick extends Schema.TaggedClass<Tick>()("test/Cluster/Tick", { n: Schema.Number }) {}

/** Asks a `LimitsReporter` for its thread's V8 heap limits (`worker_threads.resourceLimits`). */
export class HeapLimits extends Schema.TaggedRequest<HeapLimits>()("test/Cluster/HeapLimits", {
  failure: Schema.Never,
  success: Schema.Record({ key: Schema.String, value: Schema.Number }),
  payload: {}
}) {}

export const LimitsReporter = Process.make({
  name: "LimitsReporter",
  init: () => Effect.succeed(undefined),
  handleCall: (_: HeapLimits, _from, state) => Effect.succeed(Process.reply({ ...resourceLimits }, state))
})

export const EchoServer = Process.make({
  name: "EchoServer",
  init: () => Effect.succeed(undefined),
  handleCall: (req: Echo, _from, state, ctx) => Effect.succeed(Process.reply(`${req.text}@${ctx.self.node}`, state))
})

export const RelayServer = Process.make({
  name: "RelayServer",
  init: () => Effect.succeed(undefined),
  handleCall: (req: Relay, _from, state, ctx) =>
    ctx.call(Process.name("echo", req.node), new Echo({ text: req.text }), "5 seconds").pipe(
      Effect.map((answer) => Process.reply(`${answer} via ${ctx.self.node}`, state)),
      Effect.catchAll((e) => Effect.fail(e._tag))
    )
})

/** Links to and monitors what it is told to watch; forwards every Exit and Down to `to`. */
export const Watcher = Process.make({
  name: "Watcher",
  init: (to: Process.Pid, ctx) => Effect.as(ctx.trapExit(true), to),
  handleMessage: (msg: Watch, to, ctx) =>
    Effect.gen(function*() {
      yield* ctx.link(msg.target)
      yield* ctx.monitor(msg.target)
      yield* ctx.send(to, "watching")
      return to
    }),
  handleInfo: (info, to, ctx) => Effect.as(ctx.send(to, info), to)
})

/** Ends its whole thread (an exception no Effect catches), as a native crash would. */
export const ThreadCrasher = Process.make({
  name: "ThreadCrasher",
  init: () => Effect.succeed(undefined),
  handleMessage: (_msg: "crash", state) =>
    Effect.as(
      Effect.sync(() =>
        setTimeout(() => {
          throw new Error("the thread crashes")
        })
      ),
      state
    )
})

const app = Application.make({
  name: "echo",
  version: "1.0.0",
  root: [{ id: "echo", behaviour: EchoServer, args: undefined, name: "echo" }]
})

export default Cluster.define({
  applications: [app],
  allowSpawn: [RelayServer, Watcher, ThreadCrasher, EchoServer, LimitsReporter],
  messages: [Echo, Relay, Watch, Tick, HeapLimits]
})
