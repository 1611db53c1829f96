/**
 * Text rendering of the command line: tables, sizes, durations, trees.
 *
 * @internal
 */
import type { Control } from "../../Rpc/index.js"

/** Pads columns to their widest cell; numbers (and headers of number columns) align right. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, right: ReadonlySet<number> = new Set()): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

export const bytes = (n: number): string => {
  if (n < 1024) return `${n} B`
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`
  return `${(n / 1024 ** 3).toFixed(2)} GiB`
}

export const duration = (millis: number): string => {
  const s = Math.floor(millis / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, "0")}h`
}

/** The `rain ps` screen: a summary line and the table. */
export const processTable = (node: string, page: Control.ProcessPage, sort: string): string => {
  const shown = page.processes.length
  const head = `${node}: ${page.total} processes` +
    (page.matched === page.total ? "" : `, ${page.matched} match`) +
    `, ${shown === 0 ? "none" : `${page.offset + 1}-${page.offset + shown}`} shown, sorted by ${sort}`
  return head + "\n" + table(
    ["PID", "NAME", "BEHAVIOUR", "STATUS", "MAILBOX", "HANDLED", "MSGS/S", "MEMORY", "UPTIME"],
    page.processes.map((p) => [
      p.pid,
      p.name ?? "",
      p.behaviour,
      p.status,
      String(p.mailbox),
      String(p.messagesIn),
      p.rate === null ? "-" : p.rate.toFixed(1),
      bytes(p.memory),
      duration(p.uptimeMillis)
    ]),
    new Set([4, 5, 6, 7, 8])
  )
}

export const nodeInfo = (info: Control.NodeInfo): string => {
  const lines = [
    `node         ${info.node} (creation ${info.creation})`,
    `address      ${info.address}`,
    `uptime       ${duration(info.uptimeMillis)}`,
    `processes    ${info.processCount} (${info.registeredNames} registered names)`,
    `messages     ${info.messagesIn} in, ${info.messagesOut} out, ${info.messageRate.toFixed(1)}/s since start`,
    `memory       ${bytes(info.memoryUsage)} heap used`,
    `dropped      ${info.droppedMessages.mailboxFull} (mailbox full), ${info.droppedMessages.undecodable} (undecodable)`,
    `spawnable    ${info.spawnable.length === 0 ? "(none)" : info.spawnable.join(", ")}`,
    `connections  ${info.connections.length}${info.maxNodes >= 0 ? ` of at most ${info.maxNodes}` : ""}`
  ]
  if (info.connections.length > 0) {
    lines.push(table(
      ["NODE", "ADDRESS", "DIALLED BY", "UP", "BYTES IN", "BYTES OUT", "FRAMES IN", "FRAMES OUT"],
      info.connections.map((c) => [
        c.node,
        c.address,
        c.dialled,
        duration(Date.now() - c.since),
        bytes(c.bytesIn),
        bytes(c.bytesOut),
        String(c.framesIn),
        String(c.framesOut)
      ]),
      new Set([3, 4, 5, 6, 7])
    ).split("\n").map((l) => `  ${l}`).join("\n"))
  }
  return lines.join("\n")
}

export const trees = (apps: ReadonlyArray<Control.ApplicationTree>): string => {
  if (apps.length === 0) return "no applications on this node"
  const out: Array<string> = []
  for (const app of apps) {
    out.push(
      `${app.name} ${app.version} ${app.state}${app.mode === undefined ? "" : ` (${app.mode})`}` +
        (app.state === "running" ? `, up ${duration(app.uptimeMillis)}` : "") +
        (app.description === "" ? "" : ` - ${app.description}`)
    )
    for (const n of app.tree) {
      const what = n.type === "supervisor" ? `supervisor ${n.strategy ?? ""}`.trimEnd() : `worker ${n.behaviour}`
      out.push(
        `${"  ".repeat(n.depth + 1)}${n.id} ${n.pid ?? "(not running)"} ${what}, ${n.restart}, ` +
          `${n.restarts} restart${n.restarts === 1 ? "" : "s"}`
      )
    }
  }
  return out.join("\n")
}
