import type { Knex } from 'knex'
import type { Logger } from 'pino'
import { databaseAnswers, isInfrastructureFailure } from '../infrastructure'
import type { EventMetrics } from '../metrics'

const PAUSE_FIRST_DELAY_MS = 100
const PAUSE_MAX_DELAY_MS = 5_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface DatabasePauseOptions {
  db: Knex
  consumer: string
  logger: Logger
  metrics: EventMetrics
  isStopping: () => boolean
  /** Called when the pause lifts, to start the batches that waited. */
  onResume: () => void
}

/**
 * Consumption paused while the database does not answer: no attempt counted, nothing acked.
 *
 * Contract: there is at most one pause at a time for the whole consumer, however many batches ran
 * into the outage; it polls the database (100 ms doubling to 5 s) until it answers or the consumer
 * stops, then calls `onResume`. `whileFailing(work)` runs `work` until it succeeds or fails for a
 * reason of its own (that error is thrown), waiting out a pause after each infrastructure failure;
 * it resolves undefined once the consumer is stopping.
 */
export class DatabasePause {
  private pause?: Promise<void>

  constructor(private readonly options: DatabasePauseOptions) {}

  get isPaused() {
    return this.pause !== undefined
  }

  async whileFailing<T>(work: () => Promise<T>): Promise<T | undefined> {
    for (;;) {
      if (this.options.isStopping()) return undefined
      try {
        return await work()
      } catch (error) {
        if (!(await isInfrastructureFailure(error, this.options.db))) throw error
        await this.untilDatabaseAnswers(error as Error)
      }
    }
  }

  /** Starts the pause (unless one is on) for `error`; resolves when it lifts. */
  untilDatabaseAnswers(error: Error) {
    if (!this.pause) {
      const { db, logger, metrics, consumer, isStopping, onResume } = this.options
      metrics.paused.inc({ consumer })
      logger.warn({ err: error.message }, 'database unavailable: consumption paused, no attempt counted')
      this.pause = (async () => {
        for (let delay = PAUSE_FIRST_DELAY_MS; !isStopping(); delay = Math.min(delay * 2, PAUSE_MAX_DELAY_MS)) {
          await sleep(delay)
          if (await databaseAnswers(db)) return
        }
      })().finally(() => {
        this.pause = undefined
        logger.info('database answers again: consumption resumed')
        onResume()
      })
    }
    return this.pause
  }
}
