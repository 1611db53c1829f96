/**
 * The test files that exercise the kernel and the distribution layer, for a mutation run of
 * src/Node/internal and src/Supervisor/internal (`npm run mutate:kernel`): the modules built on
 * top (Database, Rpc, Observer, Cluster...) add only time there. Modules are shared between
 * files (no isolation): collecting `effect` and Rain once instead of per file takes a run of
 * these files from 45 s to under 40 s on one thread, which is what each surviving mutant costs.
 */
import { defineConfig } from "vitest/config"
import base from "./vitest.config.js"

const { projects: _projects, ...test } = base.test!

export default defineConfig({
  test: {
    ...test,
    isolate: false,
    include: [
      "test/{Node,Process,Supervisor,Transport,Message,Application}/**/*.test.ts",
      "test/Registry/registry.test.ts",
      // the kernel's counters (sent, refused, dropped) as the node's metrics publish them
      "test/Telemetry/metrics.test.ts",
      // Process.suspend / resume and code upgrades: the kernel's suspended state
      "test/Code/upgrade.test.ts"
    ],
    exclude: [
      // it measures the process's heap, which other files' leftovers fill when modules are shared
      "test/Node/memory.test.ts",
      // other OS processes run these (the mutant is active only in this one) and they take a
      // third of the run: 500 reconnects, 100k processes, exit codes, SIGKILL of a peer
      "test/Node/{multiprocess,reconnect,run}.test.ts",
      "test/Process/scale.test.ts"
    ]
  }
})
