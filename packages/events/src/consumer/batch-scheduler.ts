import type { ConfirmChannel } from 'amqplib'
import type { Logger } from 'pino'
import type { Delivery } from './deliveries'

export interface BatchSchedulerOptions {
  concurrency: number
  batchSize: number
  logger: Logger
  /** Whether a delivery forms a batch of its own (see HandlerRegistry.runsAlone). */
  runsAlone: (delivery: Delivery) => boolean
  /** Whether a batch may start now (not while the database is paused or the consumer stops). */
  mayStart: () => boolean
  process: (batch: Delivery[]) => Promise<void>
}

/**
 * Turns the deliveries received into batches, in order of arrival.
 *
 * Contract: at most `concurrency` batches run at a time, each of at most `batchSize` deliveries.
 * A delivery that runs alone is a batch of one; a redelivery moreover waits until no batch runs
 * and none starts beside it, so a crash it causes counts against it alone. No batch starts while
 * `mayStart()` is false; `pump()` is called again when that changes. A batch that fails
 * unexpectedly has its unsettled deliveries requeued: acks go out in order, so one left unsettled
 * would hold back every later one.
 */
export class BatchScheduler {
  private pending: Delivery[] = []
  private active = 0
  private exclusive = false
  private idle?: () => void

  constructor(private readonly options: BatchSchedulerOptions) {}

  add(delivery: Delivery) {
    this.pending.push(delivery)
    this.pump()
  }

  /** A batch in progress from a closed channel can no longer be acked; the broker redelivers it. */
  keepOnly(channel: ConfirmChannel) {
    this.pending = this.pending.filter((delivery) => delivery.acks.channel === channel)
  }

  /** Drops what has not started (the broker redelivers it) and resolves once no batch runs. */
  async drain() {
    this.pending = []
    if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve))
  }

  pump() {
    const { concurrency, mayStart, process, logger } = this.options
    while (mayStart() && !this.exclusive && this.active < concurrency && this.pending.length > 0) {
      const redelivered = this.pending[0].message.fields.redelivered
      if (redelivered && this.active > 0) return
      const batch = this.takeBatch()
      this.active += 1
      this.exclusive = redelivered
      void process(batch)
        .catch((error) => {
          logger.error({ err: error }, 'event batch failed unexpectedly')
          for (const { acks, message } of batch) acks.requeueIfUnsettled(message)
        })
        .finally(() => {
          this.active -= 1
          if (redelivered) this.exclusive = false
          if (this.active === 0 && this.idle) this.idle()
          this.pump()
        })
    }
  }

  private takeBatch() {
    const batch: Delivery[] = []
    while (this.pending.length > 0 && batch.length < this.options.batchSize) {
      if (this.options.runsAlone(this.pending[0])) {
        if (batch.length === 0) batch.push(this.pending.shift()!)
        break
      }
      batch.push(this.pending.shift()!)
    }
    return batch
  }
}
