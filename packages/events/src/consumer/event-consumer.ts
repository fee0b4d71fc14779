import type { ChannelWrapper } from 'amqp-connection-manager'
import type { ConfirmChannel, ConsumeMessage } from 'amqplib'
import type { Knex } from 'knex'
import type { Logger } from 'pino'
import { AckWindow } from '../acks'
import type { Broker } from '../broker'
import type { SideEffects } from '../effects'
import type { EventEnvelope, EventType } from '../event-types'
import type { EventMetrics } from '../metrics'
import { purgeInBatches } from '../purge'
import { consumerQueueNames, declareConsumerQueues, declareExchanges, type ConsumerTable, type QueueType } from '../topology'
import { InvalidEventError, parseEvent } from '../validation'
import { BatchHandler } from './batch-handler'
import { BatchScheduler } from './batch-scheduler'
import { DatabasePause } from './database-pause'
import type { Delivery, EventHandler, HandlerOptions } from './deliveries'
import { FailedDeliveries } from './failed-deliveries'
import { HandlerRegistry } from './handler-registry'

export interface EventConsumerOptions {
  consumer: string
  prefix: string
  db: Knex
  broker: Broker
  /** Who consumes what; a consumer not listed binds the types it has handlers for (tests, benches). */
  consumers: ConsumerTable
  prefetch: number
  concurrency: number
  batchSize: number
  retryDelaysMs: number[]
  queueType: QueueType
  /** A redelivered event whose handling was started this many times without being settled is dead-lettered. */
  crashLimit: number
  dedupeRetentionHours: number
  logger: Logger
  metrics: EventMetrics
  effects: SideEffects
  emit: (trx: Knex.Transaction, type: EventType, data: unknown) => Promise<EventEnvelope>
  emitAlongside: (trx: Knex.Transaction, type: EventType, data: unknown) => Promise<{ envelope: EventEnvelope; write: Knex.Raw }>
}

const PURGE_INTERVAL_MS = 60 * 60_000

/**
 * Consumes the service's queue. Deliveries are handled in small batches, in one transaction per
 * batch, so the dedupe rows and the handlers' writes commit together; a failing event is retried
 * or dead-lettered without undoing the others.
 *
 * Only a handler's own error is an attempt. When the database is unreachable (or aborts a
 * transaction for a deadlock, a failover, a restart), consumption pauses, the batch waits with its
 * deliveries unacknowledged, and runs again once the database answers. A redelivered event (its
 * consumer crashed or lost its connection) runs alone, after a committed mark of its start: one
 * that was interrupted `crashLimit` times is dead-lettered with that reason, and no healthy event
 * next to it pays for it.
 *
 * This class receives the deliveries (its setup runs on every reconnect) and stops cleanly; its
 * parts do the rest, each with its contract: HandlerRegistry (which handler, which types are
 * bound), BatchScheduler (batches and how many run), BatchHandler (a batch's transaction, dedupe
 * and outcomes), FailedDeliveries (retry and dead-letter queues), DatabasePause (an outage).
 */
export class EventConsumer {
  private readonly handlers: HandlerRegistry
  private readonly scheduler: BatchScheduler
  private channel?: ChannelWrapper
  private consuming?: { channel: ConfirmChannel; consumerTag: string }
  private stopping = false
  private purgeTimer?: NodeJS.Timeout

  constructor(private readonly options: EventConsumerOptions) {
    const { consumer, consumers, db, logger, metrics } = options
    const isStopping = () => this.stopping
    this.handlers = new HandlerRegistry(consumer, consumers)
    const pause = new DatabasePause({ db, consumer, logger, metrics, isStopping, onResume: () => this.scheduler.pump() })
    const failures = new FailedDeliveries({ ...options, names: consumerQueueNames(options.prefix, consumer) })
    const batches = new BatchHandler({ ...options, handlers: this.handlers, failures, pause, isStopping })
    this.scheduler = new BatchScheduler({
      ...options,
      runsAlone: (delivery) => this.handlers.runsAlone(delivery),
      mayStart: () => !pause.isPaused && !this.stopping,
      process: (batch) => batches.process(batch)
    })
  }

  on<T extends EventType>(type: T, handler: EventHandler<T>, options: HandlerOptions<T> = {}) {
    if (this.channel) throw new Error(`Register the ${type} handler before the event bus starts`)
    this.handlers.add(type, handler, options)
  }

  get hasHandlers() {
    return this.handlers.size > 0
  }

  async start() {
    const types = this.handlers.boundTypes()
    this.stopping = false
    this.channel = this.options.broker.connection.createChannel({
      name: `consumer ${this.options.consumer}`,
      confirm: true,
      setup: (channel: ConfirmChannel) => this.setup(channel, types)
    })
    this.channel.on('error', (error: Error) => {
      // A setup cut short by stop() is no error.
      if (!this.stopping) this.options.logger.error({ err: error.message, consumer: this.options.consumer }, 'consumer channel setup failed')
    })
    this.purgeTimer = setInterval(() => void this.forgetOldEvents(), PURGE_INTERVAL_MS)
  }

  /** Dedupe rows and tombstones past the retention are deleted: redeliveries come within minutes, not weeks. */
  async forgetOldEvents() {
    const { db, consumer, dedupeRetentionHours, logger } = this.options
    const seconds = dedupeRetentionHours * 3600
    try {
      const forgotten =
        (await purgeInBatches(db, 'processed_events', 'consumer = ? AND processed_at < now() - make_interval(secs => ?)', [consumer, seconds])) +
        (await purgeInBatches(db, 'interrupted_events', 'consumer = ? AND last_started_at < now() - make_interval(secs => ?)', [consumer, seconds])) +
        (await purgeInBatches(db, 'tombstones', 'created_at < now() - make_interval(secs => ?)', [seconds]))
      if (forgotten > 0) logger.info({ forgotten }, 'purged old dedupe rows and tombstones')
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'dedupe purge failed')
    }
  }

  /** Resolves once the queue is declared, bound and consumed (after the broker is reachable). */
  async whenConsuming() {
    await this.channel?.waitForConnect()
  }

  /**
   * Cancels the consumer first, so no delivery arrives and no batch starts from then on; waits
   * for the batches in progress; then closes the channel (the broker requeues what was not handled).
   */
  async stop() {
    const channel = this.channel
    if (!channel) return
    this.stopping = true
    clearInterval(this.purgeTimer)
    const consuming = this.consuming
    this.consuming = undefined
    await consuming?.channel.cancel(consuming.consumerTag).catch(() => undefined)
    await this.scheduler.drain()
    await channel.close()
    this.channel = undefined
  }

  /** Runs on every (re)connect: declares the topology, then consumes. */
  private async setup(channel: ConfirmChannel, types: readonly EventType[]) {
    if (this.stopping) return
    const { prefix, retryDelaysMs, queueType, prefetch, consumer, batchSize } = this.options
    await declareExchanges(channel, prefix)
    await declareConsumerQueues(channel, { prefix, retryDelaysMs, queueType }, consumer, types)
    await channel.prefetch(prefetch)
    // Room for one more batch of deliveries even while the earliest is slow.
    const acks = new AckWindow(channel, Math.max(1, prefetch - batchSize))
    this.scheduler.keepOnly(channel)
    const { consumerTag } = await channel.consume(consumerQueueNames(prefix, consumer).queue, (message) => {
      if (!message) return
      acks.received(message)
      this.scheduler.add(this.parse(acks, message))
    })
    this.consuming = { channel, consumerTag }
  }

  private parse(acks: AckWindow, message: ConsumeMessage): Delivery {
    try {
      const event = parseEvent(message.content)
      if (!this.handlers.has(event.type)) throw new InvalidEventError(`${this.options.consumer} has no handler for ${event.type}`)
      return { acks, message, event }
    } catch (error) {
      return { acks, message, invalid: error as Error }
    }
  }
}
