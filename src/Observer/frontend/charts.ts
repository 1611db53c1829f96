/**
 * The live charts: process count, messages handled per second and memory, one line per
 * node, redrawn from the server's samples every second with uPlot (bundled).
 */
import uPlot from "uplot"
import "uplot/dist/uPlot.min.css"
import type { Metrics } from "./api.js"
import { bytes, el } from "./dom.js"

const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"]

type Key = "processes" | "rate" | "memory"

const CHARTS: ReadonlyArray<{ readonly key: Key; readonly title: string; readonly format: (v: number) => string }> = [
  { key: "processes", title: "Processes", format: (v) => v.toFixed(0) },
  { key: "rate", title: "Messages handled / s", format: (v) => v.toFixed(1) },
  { key: "memory", title: "Memory (V8 heap used)", format: (v) => bytes(v) }
]

export interface Charts {
  readonly root: HTMLElement
  readonly update: (metrics: Metrics) => void
  readonly destroy: () => void
}

export const make = (): Charts => {
  const root = el("section", { id: "charts" })
  let plots: Array<uPlot> = []
  let nodes: Array<string> = []

  const build = (metrics: Metrics) => {
    for (const p of plots) p.destroy()
    while (root.firstChild !== null) root.removeChild(root.firstChild)
    nodes = Object.keys(metrics.nodes).sort()
    const width = Math.max(320, Math.min(900, root.clientWidth || window.innerWidth - 40))
    plots = CHARTS.map(({ key, title, format }) => {
      const box = el("div", { class: "chart", "data-chart": key })
      root.appendChild(box)
      return new uPlot(
        {
          title,
          width,
          height: 200,
          series: [
            {},
            ...nodes.map((name, i) => ({
              label: name,
              stroke: COLOURS[i % COLOURS.length]!,
              width: 2,
              value: (_u: uPlot, v: number | null) => (v === null ? "–" : format(v))
            }))
          ],
          axes: [{}, { values: (_u: uPlot, ticks: Array<number>) => ticks.map(format), size: 70 }]
        },
        dataOf(metrics, key),
        box
      )
    })
  }

  const dataOf = (metrics: Metrics, key: Key): uPlot.AlignedData =>
    [metrics.t.slice(), ...nodes.map((n) => (metrics.nodes[n]?.[key] ?? []).slice())] as unknown as uPlot.AlignedData

  return {
    root,
    update: (metrics) => {
      const names = Object.keys(metrics.nodes).sort()
      if (plots.length === 0 || names.join("\n") !== nodes.join("\n")) build(metrics)
      else plots.forEach((p, i) => p.setData(dataOf(metrics, CHARTS[i]!.key)))
    },
    destroy: () => {
      for (const p of plots) p.destroy()
      plots = []
    }
  }
}
