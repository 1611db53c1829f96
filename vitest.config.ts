import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

/**
 * Two projects. Most of a test file's start-up ("collect") is loading `effect` and Rain, which
 * an isolated worker pays again for every file. The in-process suites (processes, supervisors,
 * applications, registry, codec) share no state between files but what they own (each test
 * starts its own node; the codec tests register only `codec/...` identifiers), so they run in
 * worker threads without isolation: measured on the same loaded machine, their collect time
 * fell from 130-151 s (forks, isolated or not) to 52 s. The network suites keep a fresh forked
 * worker per file: they share process-wide state (the memory transport's listeners), bind
 * ports and start child processes.
 */
const common = {
  testTimeout: 60_000,
  hookTimeout: 60_000,
  pool: "forks" as const,
  poolOptions: { forks: { maxForks: 2, minForks: 1 } }
}

export default defineConfig({
  // "rain" is the sources here, as tsconfig's `paths` says for tsc and tsx: no build needed to test
  resolve: {
    alias: [
      { find: /^rain$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
      { find: /^rain\/Database$/, replacement: fileURLToPath(new URL("./src/Database/index.ts", import.meta.url)) },
      { find: /^rain\/Meta$/, replacement: fileURLToPath(new URL("./src/Meta/index.ts", import.meta.url)) },
      { find: /^rain\/Rpc$/, replacement: fileURLToPath(new URL("./src/Rpc/index.ts", import.meta.url)) },
      { find: /^rain\/Telemetry$/, replacement: fileURLToPath(new URL("./src/Telemetry/index.ts", import.meta.url)) },
      { find: /^rain\/Observer$/, replacement: fileURLToPath(new URL("./src/Observer/index.ts", import.meta.url)) },
      { find: /^rain\/Etcd$/, replacement: fileURLToPath(new URL("./src/Etcd/index.ts", import.meta.url)) }
    ]
  },
  test: {
    ...common,
    projects: [
      {
        extends: true,
        test: {
          ...common,
          name: "in-process",
          include: ["test/{Process,Supervisor,Application,Registry,Message}/**/*.test.ts"],
          // it switches the whole worker to the fallback path: it gets a worker of its own below
          exclude: ["test/Process/messaging.fallback.test.ts"],
          pool: "threads",
          poolOptions: { threads: { maxThreads: 2, minThreads: 1 } },
          isolate: false
        }
      },
      {
        extends: true,
        test: {
          ...common,
          name: "network",
          // Everything else, each file in a fresh forked worker: sockets, child processes,
          // servers (PostgreSQL, the package's install), process-wide state.
          include: ["test/**/*.test.ts"],
          exclude: ["test/{Process,Supervisor,Application,Registry,Message}/**"]
        }
      },
      {
        extends: true,
        test: { ...common, name: "fallback", include: ["test/Process/messaging.fallback.test.ts"] }
      }
    ]
  }
})
