/**
 * Rain's test kit as the suite uses it: `Testing.make` whose `exitReason` gives up after 10 s of
 * real time with a message, so a process that never exits fails its test at once instead of at
 * vitest's timeout. Everything else is `src/Testing` as it is.
 */
import { Effect } from "effect"
import * as T from "../src/Testing/index.js"

export * from "../src/Testing/index.js"

/** `Testing.make` with a bounded `exitReason`. */
export const make = (options?: Parameters<typeof T.make>[0]) =>
  Effect.map(T.make(options), (env): T.TestEnv => ({
    ...env,
    exitReason: (pid) =>
      Effect.raceFirst(
        env.exitReason(pid),
        Effect.flatMap(
          Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref())),
          () => Effect.dieMessage(`${pid} did not exit within 10 s`)
        )
      )
  }))
