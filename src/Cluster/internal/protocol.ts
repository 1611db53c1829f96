/**
 * What the main thread and a cluster thread tell each other over the worker's
 * `parentPort`, and what a thread is started with (`workerData`). The frames between
 * nodes never pass here: they go over the ports the broker hands out.
 *
 * @internal
 */
import type { MessagePort } from "node:worker_threads"

/** The node options a thread node may be given: what survives the structured clone. */
export interface CloneableNodeOptions {
  readonly process?: {
    readonly mailboxSize?: number | undefined
    readonly maxMessageSize?: number | undefined
    readonly spawnTimeout?: number | undefined
    readonly callTimeout?: number | undefined
  } | undefined
  readonly log?: {
    readonly level?: "All" | "Fatal" | "Error" | "Warning" | "Info" | "Debug" | "Trace" | "None" | undefined
    readonly format?: "text" | "json" | "logfmt" | "pretty" | undefined
    readonly crashReports?: boolean | undefined
    readonly reportsPerSecond?: number | undefined
  } | undefined
  readonly limits?: {
    readonly maxProcesses?: number | undefined
    readonly maxMemory?: number | undefined
  } | undefined
}

/** `workerData` of a cluster thread: it starts loading the module at once, before it is given a node. */
export interface ThreadData {
  /** The module's URL (`file:///...`). */
  readonly module: string
}

/** What a thread is given to run a node (`assign`), with `broker` in the transfer list. */
export interface WorkerData {
  readonly node: string
  readonly creation: number
  /** The module's URL (`file:///...`). */
  readonly module: string
  readonly cookie: string
  readonly broker: MessagePort
  readonly nodeOptions: CloneableNodeOptions
  /** Listen on TCP too (host, port), beside the thread address. */
  readonly tcp: { readonly host: string; readonly port: number } | undefined
  /** Static routes to nodes outside the cluster. */
  readonly routes: Readonly<Record<string, string>>
  readonly compression: boolean
  readonly tickMillis: number | undefined
  readonly connectTimeoutMillis: number | undefined
}

/** Main thread -> cluster thread. */
export type ToWorker =
  /** Run this node (a thread may wait, loaded, as a spare until it is told to). */
  | { readonly t: "assign"; readonly data: WorkerData }
  /** Connect to these nodes (the others of the cluster), then say `ready`. */
  | { readonly t: "mesh"; readonly nodes: ReadonlyArray<string> }
  /** Stop the node (its processes, newest first, with reason `shutdown`), then say `stopped`. */
  | { readonly t: "stop" }

/** Cluster thread -> main thread. */
export type FromWorker =
  /** The node is up and listens (on its thread address and, with `tcp`, on `address`). */
  | { readonly t: "listening"; readonly address: string; readonly port: number }
  | { readonly t: "ready" }
  /** The node could not start (the module, its applications, its network): why. */
  | { readonly t: "failed"; readonly detail: string }
  | { readonly t: "stopped" }
