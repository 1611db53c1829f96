/**
 * Every TypeScript sample in docs/guides/*.md is a verbatim excerpt of
 * docs/guides/snippets/<guide>.ts, which `npm run typecheck` compiles: a sample that stops
 * compiling, or drifts from its snippet, fails here or there.
 */
import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const guides = fileURLToPath(new URL("../../docs/guides", import.meta.url))
const names = fs.readdirSync(guides).filter((f) => f.endsWith(".md")).sort()

describe("guides", () => {
  it("has the six guides", () => {
    assert.deepStrictEqual(names, [
      "actor-model.md",
      "distributed-systems.md",
      "getting-started.md",
      "operations.md",
      "performance-tuning.md",
      "supervision-trees.md"
    ])
  })

  for (const name of names) {
    it(`${name}: every ts sample is in its compiled snippet file`, () => {
      const markdown = fs.readFileSync(path.join(guides, name), "utf8")
      const snippet = fs.readFileSync(path.join(guides, "snippets", name.replace(/\.md$/, ".ts")), "utf8")
      const samples = [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1])
      assert.isAbove(samples.length, 0)
      for (const sample of samples) assert.include(snippet, sample, `${name}: sample not in its snippet file`)
    })
  }
})
