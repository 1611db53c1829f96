#!/usr/bin/env node
/* global process, console */
// Lists the mutants a Stryker run left alive (Survived, NoCoverage) with the source they changed,
// then the counts and the score (killed and timed out over all that ran), as the closing notes quote it:
//   node scripts/mutation-survivors.mjs reports/mutation/kernel-core2.json
import { readFileSync } from "node:fs"

const report = JSON.parse(readFileSync(process.argv[2] ?? "reports/mutation/mutation.json", "utf8"))
const counts = {}
for (const [file, { source, mutants }] of Object.entries(report.files)) {
  const lines = source.split("\n")
  for (const m of mutants) {
    counts[m.status] = (counts[m.status] ?? 0) + 1
    if (m.status !== "Survived" && m.status !== "NoCoverage") continue
    const { start, end } = m.location
    const text = start.line === end.line
      ? lines[start.line - 1].slice(start.column - 1, end.column - 1)
      : lines[start.line - 1].slice(start.column - 1) + " ..."
    console.log(`${file.split("/").pop()}:${start.line} ${m.status} ${m.mutatorName}: ${JSON.stringify(text.trim().slice(0, 90))} -> ${JSON.stringify((m.replacement ?? "").slice(0, 60))}`)
  }
}
const detected = (counts.Killed ?? 0) + (counts.Timeout ?? 0)
const alive = (counts.Survived ?? 0) + (counts.NoCoverage ?? 0)
console.error(JSON.stringify(counts))
console.error(`score ${(100 * detected / (detected + alive)).toFixed(1)}% of ${detected + alive}`)
