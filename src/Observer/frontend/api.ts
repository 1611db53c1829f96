/**
 * The observer's JSON API as the page sees it (the shapes the server answers), with the
 * token from the page's URL on every request.
 */
export interface Connection {
  readonly node: string
  readonly creation: number
  readonly address: string
  readonly dialled: string
  readonly since: number
  readonly framesIn: number
  readonly framesOut: number
  readonly bytesIn: number
  readonly bytesOut: number
  readonly compression: boolean
}

export interface NodeInfo {
  readonly node: string
  readonly creation: number
  readonly address: string
  readonly uptimeMillis: number
  readonly processCount: number
  readonly registeredNames: number
  readonly messagesIn: number
  readonly messagesOut: number
  readonly messageRate: number
  readonly memoryUsage: number
  readonly droppedMessages: { readonly mailboxFull: number; readonly undecodable: number }
  readonly maxNodes: number
  readonly connections: ReadonlyArray<Connection>
}

export interface ProcessRow {
  readonly pid: string
  readonly id: number
  readonly name?: string
  readonly behaviour: string
  readonly status: string
  readonly mailbox: number
  readonly messagesIn: number
  readonly messagesOut: number
  readonly memory: number
  readonly uptimeMillis: number
  readonly rate: number | null
}

export interface ProcessPage {
  readonly total: number
  readonly matched: number
  readonly offset: number
  readonly processes: ReadonlyArray<ProcessRow>
}

export interface TraceEntry {
  readonly at: number
  readonly kind: "message" | "call" | "info"
  readonly message: string
}

export interface ProcessDetail {
  readonly row: ProcessRow
  readonly mailboxLanes: { readonly urgent: number; readonly system: number; readonly main: number; readonly log: number }
  readonly links: ReadonlyArray<string>
  readonly monitors: ReadonlyArray<string>
  readonly monitoredBy: ReadonlyArray<string>
  readonly trapExit: boolean
  readonly parent?: string
  readonly state: string
  readonly stateTruncated: boolean
  readonly detail?: string
  readonly trace?: { readonly last: number; readonly entries: ReadonlyArray<TraceEntry> }
}

export interface TreeNode {
  readonly depth: number
  readonly id: string
  readonly pid?: string
  readonly type: "worker" | "supervisor"
  readonly behaviour: string
  readonly restart: string
  readonly restarts: number
  readonly strategy?: string
}

export interface Application {
  readonly name: string
  readonly version: string
  readonly description: string
  readonly state: string
  readonly mode?: string
  readonly uptimeMillis: number
  readonly tree: ReadonlyArray<TreeNode>
}

export interface Metrics {
  readonly t: ReadonlyArray<number>
  readonly nodes: Record<string, {
    readonly processes: ReadonlyArray<number | null>
    readonly rate: ReadonlyArray<number | null>
    readonly memory: ReadonlyArray<number | null>
  }>
}

/** A failed API request, with the server's message. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly error: string, message: string) {
    super(message)
  }
}

const token = new URLSearchParams(location.search).get("token") ?? ""

export const request = async <A>(method: "GET" | "POST", path: string, body?: unknown): Promise<A> => {
  const response = await fetch(`/api/${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? null : JSON.stringify(body)
  })
  const text = await response.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new ApiError(response.status, "InvalidResponse", `the observer answered ${response.status} without JSON`)
  }
  if (!response.ok) {
    const e = json as { readonly error?: string; readonly message?: string }
    throw new ApiError(response.status, e.error ?? "Error", e.message ?? `HTTP ${response.status}`)
  }
  return json as A
}

export const node = (name: string, path: string): string => `nodes/${encodeURIComponent(name)}/${path}`
