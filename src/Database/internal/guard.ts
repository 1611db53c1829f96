/**
 * The pool's gate in front of the driver: at most `maxConnections` connections checked
 * out, a queue of waiters each bounded by the acquire timeout, and the availability
 * switch. A lost connection turns the pool unavailable (queries fail at once, waiters
 * are released with the error) and starts the reconnect loop on its `Schedule`; the
 * first successful probe turns it available again. Both doors (the pool process and the
 * `SqlClient` layer) acquire through this one gate, so their figures are the pool's.
 *
 * `acquire` is on every query's path (hot path): with a free slot it sets no timer and
 * waits for nothing; SQLite's one connection is wrapped once, as is PostgreSQL's statement
 * connection (a pooled connection per statement); a transaction reserves one.
 *
 * @internal
 */
import type * as SqlConnection from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import { Duration, Effect, Fiber, Runtime, Scope, Stream } from "effect"
import type { Exit, Schedule } from "effect"
import { DatabaseUnavailable, PoolExhausted } from "../errors.js"
import type { Driver } from "./driver.js"
import { describeCause } from "./driver.js"
import type { Figures } from "../Query.js"

interface Waiter {
  granted: boolean
  resume: (effect: Effect.Effect<void, SqlError>) => void
}

/** @internal */
export class Guard {
  available = true
  reason: string | undefined = undefined
  busy = 0
  acquired = 0
  reconnects = 0
  private readonly waiters: Array<Waiter> = []
  private readonly fibers = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
  private closed = false
  readonly acquireMillis: number

  constructor(
    readonly pool: string,
    readonly driverName: "sqlite" | "postgres",
    readonly driver: Driver,
    readonly max: number,
    acquireTimeout: Duration.DurationInput,
    readonly reconnect: Schedule.Schedule<unknown, unknown>,
    readonly probeTimeout: Duration.DurationInput,
    private readonly runtime: Runtime.Runtime<never>
  ) {
    this.acquireMillis = Duration.toMillis(Duration.decode(acquireTimeout))
    driver.onLost = (reason) => this.lost(reason)
    this.fixed = driver.connection === undefined ? undefined : this.wrap(driver.connection)
    this.statements = driver.statements === undefined ? undefined : this.wrap(driver.statements)
  }

  private unavailable(): SqlError {
    const error = new DatabaseUnavailable({ pool: this.pool, reason: this.reason ?? "unknown" })
    return new SqlError({ cause: error, message: error.message })
  }

  /** Takes a slot; the caller's scope gives it back. */
  private readonly takeSlot: Effect.Effect<void, SqlError> = Effect.suspend(() => {
    if (!this.available) return Effect.fail(this.unavailable())
    if (this.busy < this.max && this.waiters.length === 0) {
      this.busy++
      return Effect.void
    }
    return Effect.async<void, SqlError>((resume) => {
      const waiter: Waiter = { granted: false, resume }
      this.waiters.push(waiter)
      return Effect.sync(() => {
        if (waiter.granted) this.releaseSlot()
        else this.waiters.splice(this.waiters.indexOf(waiter), 1)
      })
    }).pipe(
      Effect.timeoutFail({
        duration: this.acquireMillis,
        onTimeout: () => {
          const error = new PoolExhausted({ pool: this.pool, maxConnections: this.max, millis: this.acquireMillis })
          return new SqlError({ cause: error, message: error.message })
        }
      })
    )
  })

  private releaseSlot(): void {
    const next = this.waiters.shift()
    if (next === undefined) {
      this.busy--
      return
    }
    next.granted = true
    next.resume(Effect.void)
  }

  private readonly giveBack = Effect.sync(() => this.releaseSlot())

  /** Maps a driver failure: a lost connection makes the pool unavailable and says so. */
  readonly classify = (error: SqlError): SqlError => {
    if (error.cause instanceof DatabaseUnavailable || error.cause instanceof PoolExhausted) return error
    if (!this.driver.isConnectionError(error)) return error
    this.lost(describeCause(error.cause ?? error.message))
    return this.unavailable()
  }

  private wrap(connection: SqlConnection.Connection): SqlConnection.Connection {
    const classify = this.classify
    return {
      execute: (sql, params, transform) => Effect.mapError(connection.execute(sql, params, transform), classify),
      executeRaw: (sql, params) => Effect.mapError(connection.executeRaw(sql, params), classify),
      executeStream: (sql, params, transform) => Stream.mapError(connection.executeStream(sql, params, transform), classify),
      executeValues: (sql, params) => Effect.mapError(connection.executeValues(sql, params), classify),
      executeUnprepared: (sql, params, transform) =>
        Effect.mapError(connection.executeUnprepared(sql, params, transform), classify)
    }
  }

  /** SQLite's one connection, wrapped once; PostgreSQL reserves one from its pool per transaction. */
  private fixed: SqlConnection.Connection | undefined
  /** PostgreSQL's statements outside transactions (a pooled connection each), wrapped once. */
  private statements: SqlConnection.Connection | undefined

  /**
   * A connection for one statement, held until the caller's scope closes.
   * Hot path: with a slot free it is taken in one step (no waiting, so nothing to restore
   * interruption for); otherwise the slot is waited for, interruptibly.
   */
  readonly acquire: SqlConnection.Connection.Acquirer = Effect.uninterruptibleMask((restore) =>
    Effect.scopeWith((scope) => this.take(scope, restore, this.fixed ?? this.statements))
  )

  /** A connection for one transaction: SQLite's one, or one PostgreSQL connection reserved until the scope closes. */
  readonly acquireTransaction: SqlConnection.Connection.Acquirer = Effect.uninterruptibleMask((restore) =>
    Effect.scopeWith((scope) => this.take(scope, restore, this.fixed))
  )

  private take(
    scope: Scope.Scope,
    restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
    shared: SqlConnection.Connection | undefined
  ): Effect.Effect<SqlConnection.Connection, SqlError, Scope.Scope> {
    if (shared !== undefined && this.available && this.busy < this.max && this.waiters.length === 0) {
      this.busy++
      this.acquired++
      return Effect.as(Scope.addFinalizer(scope, this.giveBack), shared)
    }
    return Effect.flatMap(restore(this.takeSlot), () => {
      this.acquired++
      return Effect.zipRight(
        Scope.addFinalizer(scope, this.giveBack),
        shared !== undefined
          ? Effect.succeed(shared)
          : restore(Effect.map(Effect.mapError(this.driver.inner.reserve, this.classify), (c) => this.wrap(c)))
      )
    })
  }

  /**
   * Runs `effect` on the pool's runtime, interrupted when the pool closes; `onExit` sees
   * how it ended (one observer for both, on every query's path).
   */
  fork(
    effect: Effect.Effect<unknown, unknown>,
    onExit?: (exit: Exit.Exit<unknown, unknown>) => void
  ): Fiber.RuntimeFiber<unknown, unknown> | undefined {
    if (this.closed) return undefined
    const fiber = Runtime.runFork(this.runtime)(effect)
    this.fibers.add(fiber)
    fiber.addObserver((exit) => {
      this.fibers.delete(fiber)
      if (onExit !== undefined) onExit(exit)
    })
    return fiber
  }

  /** Whether `close` ran: the pool is stopping. */
  get isClosed(): boolean {
    return this.closed
  }

  /** The database is gone: fail fast from now on, release the waiters, and reconnect on the schedule. */
  lost(reason: string): void {
    if (!this.available || this.closed) return
    this.available = false
    this.reason = reason
    const waiters = this.waiters.splice(0)
    for (const waiter of waiters) waiter.resume(Effect.fail(this.unavailable()))
    const probe = this.driver.inner.unsafe("SELECT 1").pipe(
      Effect.timeoutFail({
        duration: this.probeTimeout,
        onTimeout: () => new SqlError({ message: "no answer to the reconnect probe" })
      }),
      Effect.tapError((error) => Effect.sync(() => (this.reason = describeCause(error.cause ?? error.message))))
    )
    this.fork(
      Effect.logWarning(`database pool ${this.pool} lost its database (${reason}); reconnecting`).pipe(
        Effect.zipRight(Effect.retry(probe, this.reconnect)),
        Effect.zipRight(Effect.sync(() => {
          this.available = true
          this.reason = undefined
          this.reconnects++
        })),
        Effect.zipRight(Effect.logInfo(`database pool ${this.pool} reconnected`))
      )
    )
  }

  figures(): Figures {
    const open = this.driver.open()
    return {
      pool: this.pool,
      driver: this.driverName,
      available: this.available,
      unavailableReason: this.reason,
      maxConnections: this.max,
      open,
      idle: this.driver.idle?.() ?? Math.max(0, open - this.busy),
      busy: this.busy,
      waiting: this.waiters.length,
      acquired: this.acquired,
      reconnects: this.reconnects
    }
  }

  /** Stops the reconnect loop and fails the waiters; the driver is closed by the pool's scope. */
  readonly close: Effect.Effect<void> = Effect.suspend(() => {
    this.closed = true
    const waiters = this.waiters.splice(0)
    const error = new DatabaseUnavailable({ pool: this.pool, reason: "the pool is stopping" })
    for (const waiter of waiters) waiter.resume(Effect.fail(new SqlError({ cause: error, message: error.message })))
    return Fiber.interruptAll(this.fibers)
  })
}
