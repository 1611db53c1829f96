/**
 * The main thread's side of a cluster: starts one worker thread per node, brokers the
 * `MessageChannel`s between them, tells each to mesh with the others, and restarts a
 * thread that ends (a crash, `terminate`, its node stopping by itself) with a new
 * creation, within a restart intensity (OTP's MaxR in MaxT); past it, the cluster gives up
 * and stops every thread, as a supervisor does.
 *
 * Nothing here is on a hot path: frames between nodes go straight from thread to thread.
 *
 * @internal
 */
import { Worker } from "node:worker_threads"
import { Broker } from "../../Transport/internal/port.js"
import type { FromWorker, ThreadData, ToWorker, WorkerData } from "./protocol.js"

/** What `Cluster.start` resolved from its options. */
export interface Settings extends
  Pick<
    WorkerData,
    "module" | "cookie" | "nodeOptions" | "tcp" | "routes" | "compression" | "tickMillis" | "connectTimeoutMillis"
  >
{
  readonly nodes: ReadonlyArray<string>
  readonly maxRestarts: number
  readonly withinMillis: number
  readonly stopTimeoutMillis: number
  /** Keep a loaded thread waiting to take over a node that ends. */
  readonly spare: boolean
  readonly entry: URL
  /**
   * The URL of tsx's ESM API when the entry is TypeScript (Rain runs from its sources): the
   * thread registers it before importing the entry, since Node 20 does not apply hooks from
   * `--import` in a worker's `execArgv` to its entry.
   */
  readonly tsx: string | undefined
  /** Undefined: Node's default (the main thread's options a worker accepts). */
  readonly execArgv: ReadonlyArray<string> | undefined
  /** `Worker`'s `resourceLimits` of every thread (validated, defaults applied). */
  readonly resourceLimits: Readonly<Record<string, number>>
}

/** One node of the cluster as the main thread sees it. */
export interface MemberState {
  readonly node: string
  creation: number
  status: "starting" | "up" | "down" | "stopped"
  threadId: number
  restarts: number
  address: string
  port: number
  /** Why the thread last ended, or why its node failed to start. */
  lastError: string | undefined
  /** What the running thread reported before it ended (its node's start failure, an uncaught error). */
  threadError: string | undefined
  worker: Worker | undefined
  dropControl: (() => void) | undefined
  restartTimes: Array<number>
}

/** The code of a thread that registers tsx, then imports the TypeScript entry. */
const bootstrap = (tsx: string, entry: URL): string =>
  `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}) })`

/** The supervisor of a cluster's threads. */
export class ClusterSupervisor {
  readonly broker = new Broker()
  readonly members = new Map<string, MemberState>()
  private readonly watchers = new Set<() => void>()
  private phase: "starting" | "running" | "stopping" | "stopped" = "starting"
  private onStart: ((error: { node: string; reason: string } | undefined) => void) | undefined
  private onEnd: Array<(gaveUp: { node: string; reason: string } | undefined) => void> = []
  gaveUp: { node: string; reason: string } | undefined = undefined
  /** A thread that has loaded the module and waits to be given a node (see `Settings.spare`). */
  private spare: Worker | undefined = undefined

  constructor(readonly settings: Settings, baseCreation: number) {
    for (let i = 0; i < settings.nodes.length; i++) {
      const node = settings.nodes[i]!
      this.members.set(node, {
        node,
        creation: (baseCreation + i * 1024) >>> 0,
        status: "starting",
        threadId: 0,
        restarts: 0,
        address: "",
        port: 0,
        lastError: undefined,
        threadError: undefined,
        worker: undefined,
        dropControl: undefined,
        restartTimes: []
      })
    }
  }

  /** Calls `watcher` after every change of a member (until it returns false). */
  watch(watcher: () => boolean): void {
    if (!watcher()) return
    const w = () => {
      if (!watcher()) this.watchers.delete(w)
    }
    this.watchers.add(w)
  }

  private changed(): void {
    for (const w of Array.from(this.watchers)) w()
  }

  /** Starts every thread; `done` is called once every node is up and meshed, or with the first failure. */
  start(done: (error: { node: string; reason: string } | undefined) => void): void {
    this.onStart = done
    for (const m of this.members.values()) this.spawn(m)
  }

  private post(m: MemberState, message: ToWorker): void {
    m.worker?.postMessage(message)
  }

  /** A new thread: it starts loading the module, and waits to be told which node to be. */
  private thread(name: string): Worker {
    const s = this.settings
    return new Worker(s.tsx === undefined ? s.entry : bootstrap(s.tsx, s.entry), {
      eval: s.tsx !== undefined,
      workerData: { module: s.module } satisfies ThreadData,
      ...(s.execArgv === undefined ? {} : { execArgv: [...s.execArgv] }),
      resourceLimits: { ...s.resourceLimits },
      name
    })
  }

  /** Starts a spare thread (while the cluster runs and none is waiting). */
  private replenish(): void {
    if (!this.settings.spare || this.spare !== undefined || this.phase !== "running") return
    let spare: Worker
    try {
      spare = this.thread("spare")
    } catch {
      // No spare (the process is out of threads, say): restarts start threads of their own.
      return
    }
    this.spare = spare
    // A spare that ends before it is used is not replaced: restarts start threads of their own.
    spare.once("exit", () => {
      if (this.spare === spare) this.spare = undefined
    })
    spare.on("error", () => {})
    spare.unref()
  }

  private spawn(m: MemberState): void {
    const { port, drop } = this.broker.endpoint()
    const s = this.settings
    const data: WorkerData = {
      node: m.node,
      creation: m.creation,
      module: s.module,
      cookie: s.cookie,
      broker: port,
      nodeOptions: s.nodeOptions,
      tcp: s.tcp,
      routes: s.routes,
      compression: s.compression,
      tickMillis: s.tickMillis,
      connectTimeoutMillis: s.connectTimeoutMillis
    }
    let worker = this.spare
    this.spare = undefined
    if (worker === undefined) {
      try {
        worker = this.thread(m.node)
      } catch (e) {
        // `new Worker` throws when the thread cannot be created (resourceLimits too large for
        // the machine, no threads left): the node ends at once, as a thread that crashed.
        m.dropControl = drop
        m.threadError = `its thread could not be created: ${e instanceof Error ? e.message : String(e)}`
        setImmediate(() => {
          if (m.worker === undefined && m.status !== "stopped") this.exited(m, 1)
        })
        return
      }
    } else worker.ref()
    worker.postMessage({ t: "assign", data } satisfies ToWorker, [port])
    m.worker = worker
    m.dropControl = drop
    m.threadId = worker.threadId
    m.status = "starting"
    worker.on("message", (msg: FromWorker) => {
      if (m.worker !== worker) return
      this.fromWorker(m, msg)
    })
    worker.on("error", (e) => {
      if (m.worker === worker) m.threadError = `uncaught in the thread: ${e instanceof Error ? e.stack ?? e.message : String(e)}`
    })
    worker.on("exit", (code) => {
      if (m.worker !== worker) return
      this.exited(m, code)
    })
  }

  private fromWorker(m: MemberState, msg: FromWorker): void {
    switch (msg.t) {
      case "listening": {
        m.address = msg.address
        m.port = msg.port
        if (this.phase === "starting") {
          m.status = "starting"
          // Everyone listens: mesh them all at once (the tie-break settles crossed connects).
          const all = Array.from(this.members.values())
          if (all.every((x) => x.address !== "")) {
            for (const x of all) this.post(x, { t: "mesh", nodes: this.settings.nodes.filter((n) => n !== x.node) })
          }
        } else {
          const up = Array.from(this.members.values()).filter((x) => x !== m && x.status === "up").map((x) => x.node)
          this.post(m, { t: "mesh", nodes: up })
        }
        return
      }
      case "ready": {
        m.status = "up"
        this.changed()
        if (this.phase === "starting" && Array.from(this.members.values()).every((x) => x.status === "up")) {
          this.phase = "running"
          const done = this.onStart
          this.onStart = undefined
          this.replenish()
          done?.(undefined)
        }
        return
      }
      case "failed": {
        m.threadError = msg.detail
        return
      }
      case "stopped": {
        m.status = "stopped"
        return
      }
    }
  }

  private exited(m: MemberState, code: number): void {
    m.worker = undefined
    m.dropControl?.()
    m.dropControl = undefined
    m.address = ""
    m.port = 0
    if (this.phase === "stopping" || this.phase === "stopped") {
      m.status = "stopped"
      this.changed()
      return
    }
    m.status = "down"
    const reason = m.threadError ?? `the thread exited with code ${code}`
    m.threadError = undefined
    m.lastError = reason
    this.changed()
    if (this.phase === "starting") {
      const done = this.onStart
      this.onStart = undefined
      void this.stop().then(() => done?.({ node: m.node, reason }))
      return
    }
    // OTP's restart intensity: more than maxRestarts within the window and the supervisor gives up.
    const now = Date.now()
    m.restartTimes = m.restartTimes.filter((t) => now - t < this.settings.withinMillis)
    if (m.restartTimes.length >= this.settings.maxRestarts) {
      this.gaveUp = {
        node: m.node,
        reason: `${m.node} ended ${m.restartTimes.length + 1} times within ${this.settings.withinMillis} ms (last: ${reason})`
      }
      void this.stop()
      return
    }
    m.restartTimes.push(now)
    m.restarts++
    m.creation = (m.creation + 1) >>> 0
    this.spawn(m)
    this.replenish()
    this.changed()
  }

  /** Ends a node's thread at once (as a crash would): its node goes down for the others and restarts. */
  kill(node: string): Promise<void> {
    const m = this.members.get(node)
    if (m?.worker === undefined) return Promise.resolve()
    return m.worker.terminate().then(() => undefined)
  }

  /** Completes when the cluster has stopped, with why it gave up (if it did). */
  ended(callback: (gaveUp: { node: string; reason: string } | undefined) => void): void {
    if (this.phase === "stopped") callback(this.gaveUp)
    else this.onEnd.push(callback)
  }

  /** Stops every node (each closes its processes), terminating a thread that takes longer than the stop timeout. */
  async stop(): Promise<void> {
    if (this.phase === "stopping" || this.phase === "stopped") {
      return new Promise((resolve) => this.ended(() => resolve()))
    }
    this.phase = "stopping"
    const spare = this.spare
    this.spare = undefined
    if (spare !== undefined) await spare.terminate()
    await Promise.all(Array.from(this.members.values()).map((m) => {
      const worker = m.worker
      if (worker === undefined) return Promise.resolve()
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => void worker.terminate(), this.settings.stopTimeoutMillis)
        worker.once("exit", () => {
          clearTimeout(timer)
          resolve()
        })
        worker.once("message", (msg: FromWorker) => {
          if (msg.t === "stopped") void worker.terminate()
        })
        worker.postMessage({ t: "stop" } satisfies ToWorker)
      })
    }))
    this.broker.close()
    for (const m of this.members.values()) m.status = "stopped"
    this.phase = "stopped"
    this.changed()
    for (const cb of this.onEnd.splice(0)) cb(this.gaveUp)
  }
}
