/**
 * The test files that exercise the kernel and the distribution layer, for a mutation run of
 * src/Node/internal and src/Supervisor/internal (`npm run mutate:kernel`): the modules built on
 * top (Database, Rpc, Observer, Cluster...) add only time there. Modules are shared between
 * files (no isolation): collecting `effect` and Rain once instead of per file takes a run of
 * these files from 45 s to under 40 s on one thread, which is what each surviving mutant costs.
 */
import { defineConfig } from "vitest/config"
import type { TestSpecification } from "vitest/node"
import { BaseSequencer } from "vitest/node"
import base from "./vitest.config.js"

const { projects: _projects, ...test } = base.test!

/**
 * One order, whatever the timings cached by earlier runs: files by path, and the fallback run
 * (`messaging.fallback.test.ts` switches every handler to the fiber path for the rest of a
 * process whose modules are shared) last. With the cached order, which files ran on which path
 * changed from run to run, and so did two distribution tests' outcome.
 */
class ByPath extends BaseSequencer {
  override async sort(files: Array<TestSpecification>): Promise<Array<TestSpecification>> {
    const last = (file: TestSpecification) => (file.moduleId.endsWith("messaging.fallback.test.ts") ? 1 : 0)
    return [...files].sort((a, b) => last(a) - last(b) || a.moduleId.localeCompare(b.moduleId))
  }
}

export default defineConfig({
  // "rain" and "rain/..." are the sources, as in the main config (without it they were the built
  // `dist/`, a second copy of every class, and the mutants were not in it)
  resolve: base.resolve,
  test: {
    ...test,
    isolate: false,
    sequence: { ...test.sequence, sequencer: ByPath },
    include: [
      "test/{Node,Process,Supervisor,Transport,Message,Application}/**/*.test.ts",
      "test/Registry/registry.test.ts",
      // a node the registrar says has left is disconnected (the embedded registrar, in this process)
      "test/Registry/registrar.test.ts",
      // the kernel's counters (sent, refused, dropped) as the node's metrics publish them
      "test/Telemetry/metrics.test.ts",
      // Process.suspend / resume and code upgrades: the kernel's suspended state
      "test/Code/upgrade.test.ts",
      // forwarding (a worker answers the caller directly): pools and routers
      "test/Pool/pool.test.ts",
      // forwarding to workers on other nodes (the first test runs both nodes here; the second
      // kills a worker node in another OS process, where no mutant is active)
      "test/Pool/remote.test.ts",
      "test/Router/router.test.ts",
      // how a node sets up its loggers (log.level, log.format, log.output)
      "test/Telemetry/logs.test.ts",
      // trace context in call frames across nodes; traffic and handshake failures per peer
      "test/Telemetry/{tracing,peers}.test.ts"
    ],
    exclude: [
      // other OS processes run these (the mutant is active only in this one) and they take a
      // third of the run: 500 reconnects, 100k processes, exit codes, SIGKILL of a peer
      "test/Node/{multiprocess,reconnect,run}.test.ts",
      "test/Process/scale.test.ts"
    ]
  }
})
