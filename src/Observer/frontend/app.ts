/**
 * The observer's page: a node switcher and four views (overview, applications, processes,
 * charts) plus one process, routed by the URL's hash and refreshed every second. Every
 * value from the nodes goes into the page as text (see `dom.ts`).
 */
import type { Application, Metrics, NodeInfo, ProcessDetail, ProcessPage, ProcessRow } from "./api.js"
import { ApiError, node as nodePath, request } from "./api.js"
import * as Charts from "./charts.js"
import { bytes, count, duration, el, replace } from "./dom.js"
import "./style.css"

const PAGE_SIZE = 50
const SORTS = [
  ["pid", "Pid (oldest first)"],
  ["mailbox", "Mailbox depth"],
  ["messages", "Handled messages"],
  ["rate", "Messages per second"],
  ["memory", "Memory estimate"],
  ["status", "Status"]
] as const

const $ = (id: string): HTMLElement => document.getElementById(id)!
const view = $("view")
const errorBox = $("error")
const nodeSelect = $("node") as HTMLSelectElement

let readOnly = true
let current = ""
let refresh: (() => Promise<void>) | undefined
let leave: (() => void) | undefined
let busy = false

const showError = (e: unknown) => {
  errorBox.hidden = false
  replace(errorBox, e instanceof Error ? e.message : String(e))
}
const clearError = () => {
  errorBox.hidden = true
  replace(errorBox)
}

/** `#/<view>/<node>[/<process>]` */
const route = (): { readonly view: string; readonly node: string; readonly process: string | undefined } => {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map((p) => {
    try {
      return decodeURIComponent(p)
    } catch {
      return ""
    }
  })
  return { view: parts[0] || "overview", node: parts[1] || current, process: parts[2] || undefined }
}

const go = (viewName: string, node: string, process?: string) => {
  location.hash = `#/${viewName}/${encodeURIComponent(node)}${process === undefined ? "" : `/${encodeURIComponent(process)}`}`
}

const PID = /^<(.+)\.(\d+)\.(\d+)>$/

/** A link to a process (on its own node when the pid names one). */
const processLink = (pid: string, node: string): HTMLElement => {
  const m = PID.exec(pid)
  const on = m === null ? node : m[1]!
  return el("a", { href: `#/process/${encodeURIComponent(on)}/${encodeURIComponent(pid)}`, class: "pid" }, pid)
}

const table = (headers: ReadonlyArray<string | Node>, rows: ReadonlyArray<ReadonlyArray<string | number | Node>>) =>
  el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c))))))

const pairs = (rows: ReadonlyArray<readonly [string, string | number | Node]>) =>
  el("table", { class: "pairs" }, el("tbody", {}, rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))))

// --- views ------------------------------------------------------------------------------

const overview = (node: string) => {
  const body = el("div")
  replace(view, el("h2", {}, "Node ", el("code", {}, node)), body)
  refresh = async () => {
    const info = await request<NodeInfo>("GET", nodePath(node, "info"))
    replace(
      body,
      pairs([
        ["Node", info.node],
        ["Creation", info.creation],
        ["Address", info.address],
        ["Uptime", duration(info.uptimeMillis)],
        ["Processes", count(info.processCount)],
        ["Registered names", count(info.registeredNames)],
        ["Messages in / out", `${count(info.messagesIn)} / ${count(info.messagesOut)}`],
        ["Memory (V8 heap used)", bytes(info.memoryUsage)],
        ["Dropped (mailbox full / undecodable)", `${info.droppedMessages.mailboxFull} / ${info.droppedMessages.undecodable}`],
        ["Max nodes", info.maxNodes < 0 ? "no limit" : info.maxNodes]
      ]),
      el("h3", {}, `Connections (${info.connections.length})`),
      info.connections.length === 0
        ? el("p", {}, "Not connected to any node.")
        : table(
          ["Node", "Creation", "Address", "Dialled by", "Up for", "Messages in", "Messages out", "Bytes in", "Bytes out", "Compressed"],
          info.connections.map((c) => [
            el("a", { href: `#/overview/${encodeURIComponent(c.node)}` }, c.node),
            c.creation,
            c.address,
            c.dialled,
            duration(Date.now() - c.since),
            count(c.framesIn),
            count(c.framesOut),
            bytes(c.bytesIn),
            bytes(c.bytesOut),
            c.compression ? "yes" : "no"
          ])
        )
    )
  }
}

const applications = (node: string) => {
  const body = el("div")
  replace(view, el("h2", {}, "Applications on ", el("code", {}, node)), body)
  refresh = async () => {
    const { applications: apps } = await request<{ applications: ReadonlyArray<Application> }>("GET", nodePath(node, "applications"))
    replace(
      body,
      apps.length === 0 ? el("p", {}, "No applications on this node.") : apps.map((app) =>
        el(
          "section",
          { class: "app" },
          el("h3", {}, app.name, " ", el("small", {}, `${app.version} · ${app.state}${app.mode === undefined ? "" : ` (${app.mode})`}`,
            app.state === "running" ? ` · up ${duration(app.uptimeMillis)}` : "")),
          app.description === "" ? null : el("p", {}, app.description),
          app.tree.length === 0 ? null : tree(app, node)
        )
      )
    )
  }
}

/** The depth-first lines of a supervision tree as nested lists. */
const tree = (app: Application, node: string): HTMLElement => {
  const root = el("ul", { class: "tree" })
  const stack: Array<HTMLElement> = [root]
  for (const n of app.tree) {
    while (stack.length > n.depth + 1) stack.pop()
    const parent = stack[stack.length - 1]!
    const item = el(
      "li",
      { class: n.type, "data-id": n.id },
      el("span", { class: "id" }, n.id),
      " ",
      n.pid === undefined ? el("span", { class: "dead" }, "not running") : processLink(n.pid, node),
      " ",
      el("span", { class: "behaviour" }, n.behaviour),
      " ",
      el("span", { class: "meta" }, `${n.type}${n.strategy === undefined ? "" : ` ${n.strategy}`} · ${n.restart} · restarts: ${n.restarts}`)
    )
    parent.appendChild(item)
    const children = el("ul")
    item.appendChild(children)
    stack.push(children)
  }
  return root
}

const processes = (node: string) => {
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "")
  let offset = 0
  let sort = params.get("sort") ?? "mailbox"
  const nameInput = el("input", { type: "search", id: "filter-name", placeholder: "name or pid" }) as HTMLInputElement
  const behaviourInput = el("input", { type: "search", id: "filter-behaviour", placeholder: "behaviour" }) as HTMLInputElement
  const sortSelect = el("select", { id: "sort" }, SORTS.map(([v, label]) => el("option", { value: v }, label))) as HTMLSelectElement
  sortSelect.value = sort
  const summary = el("span", { id: "summary" })
  const prev = el("button", { type: "button", id: "prev" }, "← Previous") as HTMLButtonElement
  const next = el("button", { type: "button", id: "next" }, "Next →") as HTMLButtonElement
  const tbody = el("tbody")
  const header = (label: string, key?: string) =>
    el("th", key === undefined ? {} : { class: "sortable", onclick: () => {
      sort = key
      sortSelect.value = key
      offset = 0
      void tick()
    } }, label)
  const grid = el("table", { id: "processes" }, el("thead", {}, el("tr", {},
    header("Pid", "pid"), header("Name"), header("Behaviour"), header("Status", "status"), header("Mailbox", "mailbox"),
    header("Handled", "messages"), header("Msgs/s", "rate"), header("Memory", "memory"), header("Uptime"))), tbody)
  const refilter = () => {
    offset = 0
    void tick()
  }
  nameInput.addEventListener("input", refilter)
  behaviourInput.addEventListener("input", refilter)
  sortSelect.addEventListener("change", () => {
    sort = sortSelect.value
    refilter()
  })
  prev.addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE_SIZE)
    void tick()
  })
  next.addEventListener("click", () => {
    offset += PAGE_SIZE
    void tick()
  })
  replace(
    view,
    el("h2", {}, "Processes on ", el("code", {}, node)),
    el("div", { class: "controls" }, el("label", {}, "Name ", nameInput), el("label", {}, "Behaviour ", behaviourInput),
      el("label", {}, "Sort by ", sortSelect), prev, next, summary),
    grid
  )
  const row = (p: ProcessRow) =>
    el("tr", { "data-pid": p.pid, "data-name": p.name ?? "", onclick: () => go("process", node, p.pid) },
      el("td", {}, processLink(p.pid, node)), el("td", {}, p.name ?? ""), el("td", {}, p.behaviour), el("td", {}, p.status),
      el("td", { class: "num" }, count(p.mailbox)), el("td", { class: "num" }, count(p.messagesIn)),
      el("td", { class: "num" }, p.rate === null ? "–" : p.rate.toFixed(1)), el("td", { class: "num" }, bytes(p.memory)),
      el("td", { class: "num" }, duration(p.uptimeMillis)))
  const tick = async () => {
    const q = new URLSearchParams({ offset: String(offset), limit: String(PAGE_SIZE), sort })
    if (nameInput.value !== "") q.set("name", nameInput.value)
    if (behaviourInput.value !== "") q.set("behaviour", behaviourInput.value)
    const page = await request<ProcessPage>("GET", nodePath(node, `processes?${q}`))
    if (page.matched > 0 && offset >= page.matched) {
      offset = Math.max(0, Math.floor((page.matched - 1) / PAGE_SIZE) * PAGE_SIZE)
      return tick()
    }
    replace(tbody, page.processes.map(row))
    prev.disabled = offset === 0
    next.disabled = offset + PAGE_SIZE >= page.matched
    replace(summary, page.matched === 0
      ? `no match among ${count(page.total)} processes`
      : `${count(offset + 1)}–${count(offset + page.processes.length)} of ${count(page.matched)} matching (${count(page.total)} processes)`)
  }
  refresh = tick
}

const processView = (node: string, selector: string) => {
  const body = el("div")
  const status = el("p", { id: "action-status", role: "status" })
  const actions = el("div", { class: "actions" })
  replace(view, el("h2", {}, "Process ", el("code", { id: "process-title" }, selector), " on ", el("code", {}, node)), actions, status, body)
  if (readOnly) {
    actions.appendChild(el("p", { class: "muted" }, "Read-only observer: kill and send are off (start it with readOnly: false)."))
  } else {
    const message = el("textarea", { id: "message", rows: "2", cols: "50", placeholder: '{"hello": "world"} (JSON)' }) as HTMLTextAreaElement
    const send = el("button", { type: "button", id: "send" }, "Send test message")
    const kill = el("button", { type: "button", id: "kill", class: "danger" }, "Kill")
    send.addEventListener("click", async () => {
      let value: unknown
      try {
        value = JSON.parse(message.value)
      } catch {
        return showError("The test message must be JSON, e.g. \"ping\" or {\"n\": 1}.")
      }
      try {
        await request("POST", nodePath(node, `processes/${encodeURIComponent(selector)}/send`), { message: value })
        replace(status, `Sent to ${selector}.`)
        clearError()
      } catch (e) {
        showError(e)
      }
    })
    kill.addEventListener("click", async () => {
      if (!window.confirm(`Kill ${selector} on ${node}? Its supervisor, if any, decides whether it comes back.`)) return
      try {
        await request("POST", nodePath(node, `processes/${encodeURIComponent(selector)}/kill`))
        replace(status, `Killed ${selector}.`)
        clearError()
      } catch (e) {
        showError(e)
      }
    })
    actions.appendChild(el("div", {}, message, " ", send, " ", kill))
  }
  const traceButton = el("button", { type: "button", id: "trace-toggle" }, "Trace the last 50 messages") as HTMLButtonElement
  let tracing = false
  traceButton.hidden = readOnly
  traceButton.addEventListener("click", async () => {
    try {
      await request("POST", nodePath(node, `processes/${encodeURIComponent(selector)}/trace?last=${tracing ? 0 : 50}`))
      replace(status, tracing ? `Stopped tracing ${selector}.` : `Tracing the last 50 messages of ${selector}.`)
      clearError()
      await refresh?.()
    } catch (e) {
      showError(e)
    }
  })
  actions.appendChild(el("div", {}, traceButton))
  let name: string | undefined
  const list = (pids: ReadonlyArray<string>) =>
    pids.length === 0 ? "none" : el("span", {}, pids.flatMap((p, i) => (i === 0 ? [processLink(p, node)] : [", ", processLink(p, node)])))
  refresh = async () => {
    let d: ProcessDetail
    try {
      d = await request<ProcessDetail>("GET", nodePath(node, `processes/${encodeURIComponent(selector)}?stateLimit=4096`))
    } catch (e) {
      if (e instanceof ApiError && e.error === "ProcessNotFound") {
        replace(
          body,
          el("p", { id: "gone" }, e.message),
          name === undefined || name === selector
            ? null
            : el("p", {}, el("a", { id: "by-name", href: `#/process/${encodeURIComponent(node)}/${encodeURIComponent(name)}` },
              `Open the process registered as ${name} now (a supervisor may have restarted it)`)),
          el("p", {}, el("a", { href: `#/processes/${encodeURIComponent(node)}` }, "Back to the processes"))
        )
        return
      }
      throw e
    }
    const r = d.row
    name = r.name
    tracing = d.trace !== undefined
    replace(traceButton, tracing ? "Stop tracing" : "Trace the last 50 messages")
    const trace = d.trace === undefined
      ? el("p", { class: "muted", id: "trace-off" }, readOnly
        ? "Tracing is off (turn it on with Process.trace, the Trace rpc, or an observer with actions)."
        : "Tracing is off.")
      : el("table", { id: "trace" }, el("thead", {}, el("tr", {}, el("th", {}, "Time"), el("th", {}, "Kind"), el("th", {}, "Message"))),
        el("tbody", {}, d.trace.entries.slice().reverse().map((t) =>
          el("tr", {}, el("td", {}, new Date(t.at).toISOString().slice(11, 23)), el("td", {}, t.kind), el("td", {}, el("code", {}, t.message))))))
    replace(
      body,
      pairs([
        ["Pid", r.pid],
        ["Name", r.name ?? "—"],
        ["Behaviour", r.behaviour],
        ["Status", r.status],
        ["Supervisor / parent", d.parent === undefined ? "—" : processLink(d.parent, node)],
        ["Uptime", duration(r.uptimeMillis)],
        ["Mailbox", `${count(r.mailbox)} (urgent ${d.mailboxLanes.urgent}, system ${d.mailboxLanes.system}, main ${d.mailboxLanes.main}, log ${d.mailboxLanes.log})`],
        ["Messages handled / sent", `${count(r.messagesIn)} / ${count(r.messagesOut)}`],
        ["Memory estimate", bytes(r.memory)],
        ["Traps exits", d.trapExit ? "yes" : "no"],
        ["Links", list(d.links)],
        ["Monitors", list(d.monitors)],
        ["Monitored by", list(d.monitoredBy)]
      ]),
      d.detail === undefined ? null : [el("h3", {}, "Described"), el("pre", { class: "state" }, d.detail)],
      el("h3", {}, "State", d.stateTruncated ? " (cut to 4096 characters)" : ""),
      el("pre", { class: "state", id: "state" }, d.state),
      el("h3", {}, d.trace === undefined ? "Last messages handled" : `Last messages handled (newest first, up to ${d.trace.last})`),
      trace
    )
  }
}

const chartsView = () => {
  const charts = Charts.make()
  replace(view, el("h2", {}, "Live charts (every node)"), charts.root)
  refresh = async () => charts.update(await request<Metrics>("GET", "metrics"))
  leave = charts.destroy
}

// --- shell ------------------------------------------------------------------------------

const TABS = [["overview", "Node"], ["applications", "Applications"], ["processes", "Processes"], ["charts", "Charts"]] as const

const render = () => {
  leave?.()
  leave = undefined
  refresh = undefined
  clearError()
  const r = route()
  current = r.node
  if (nodeSelect.value !== current) nodeSelect.value = current
  replace($("tabs"), TABS.map(([v, label]) =>
    el("a", { href: `#/${v}/${encodeURIComponent(current)}`, class: v === r.view ? "active" : undefined, "data-tab": v }, label)))
  switch (r.view) {
    case "applications":
      applications(current)
      break
    case "processes":
      processes(current)
      break
    case "process":
      processView(current, r.process ?? "")
      break
    case "charts":
      chartsView()
      break
    default:
      overview(current)
  }
  void tick()
}

const updateNodes = async () => {
  const { nodes } = await request<{ nodes: ReadonlyArray<{ name: string; self: boolean }> }>("GET", "nodes")
  const names = nodes.map((n) => n.name)
  if (current !== "" && !names.includes(current)) names.push(current)
  const shown = Array.from(nodeSelect.options, (o) => o.value)
  if (shown.join("\n") !== names.join("\n")) {
    replace(nodeSelect, names.map((n) => el("option", { value: n }, n)))
    nodeSelect.value = current
  }
}

const tick = async () => {
  if (busy) return
  busy = true
  try {
    await refresh?.()
    clearError()
  } catch (e) {
    showError(e)
  } finally {
    busy = false
  }
}

const main = async () => {
  try {
    const config = await request<{ node: string; readOnly: boolean }>("GET", "config")
    readOnly = config.readOnly
    current = config.node
    replace($("mode"), readOnly ? "read-only" : "actions enabled")
    await updateNodes()
  } catch (e) {
    showError(e)
    return
  }
  nodeSelect.addEventListener("change", () => {
    const r = route()
    go(r.view === "process" ? "processes" : r.view, nodeSelect.value)
  })
  window.addEventListener("hashchange", render)
  if (location.hash === "") go("overview", current)
  else render()
  setInterval(() => {
    void tick()
    void updateNodes().catch(() => undefined)
  }, 1000)
}

void main()
