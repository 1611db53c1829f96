/**
 * Building the page: every element is made here with text nodes, never from markup, so that
 * a process name, a state or a message cannot inject anything.
 */
type Child = Node | string | number | null | undefined | false

/** An element with attributes (strings; `on*` keys take listeners) and children (text is text). */
export const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | EventListener | undefined> = {},
  ...children: Array<Child | ReadonlyArray<Child>>
): HTMLElementTagNameMap[K] => {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined) continue
    if (typeof value === "function") node.addEventListener(key.slice(2), value)
    else node.setAttribute(key, value)
  }
  append(node, children)
  return node
}

const append = (node: Node, children: ReadonlyArray<Child | ReadonlyArray<Child>>): void => {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    if (Array.isArray(child)) append(node, child)
    else if (child instanceof Node) node.appendChild(child)
    else node.appendChild(document.createTextNode(String(child)))
  }
}

/** Replaces the children of `node`. */
export const replace = (node: Node, ...children: Array<Child | ReadonlyArray<Child>>): void => {
  while (node.firstChild !== null) node.removeChild(node.firstChild)
  append(node, children)
}

export const bytes = (n: number): string => {
  if (n < 1024) return `${n} B`
  const units = ["KiB", "MiB", "GiB", "TiB"]
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}

export const duration = (ms: number): string => {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${s % 60}s`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ${m % 60}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}

export const count = (n: number): string => n.toLocaleString("en-US")
