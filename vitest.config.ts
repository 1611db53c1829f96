import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  // "rain" is the sources here, as tsconfig's `paths` says for tsc and tsx: no build needed to test
  resolve: {
    alias: [
      { find: /^rain$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) },
      { find: /^rain\/Database$/, replacement: fileURLToPath(new URL("./src/Database/index.ts", import.meta.url)) },
      { find: /^rain\/Meta$/, replacement: fileURLToPath(new URL("./src/Meta/index.ts", import.meta.url)) }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } }
  }
})
