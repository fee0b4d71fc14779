import type { ConsumeMessage, ConfirmChannel } from 'amqplib'
import type { ChannelWrapper } from 'amqp-connection-manager'
import type { Knex } from '../database'
import type { Logger } from '../logger'
import { AckWindow } from './acks'
import type { Broker } from './broker'
import type { EventData, EventEnvelope, EventType } from './catalog'
import type { EventMetrics } from './metrics'
import { setEventCause } from './outbox'
import { ATTEMPT_HEADER, consumerQueueNames, DEAD_LETTER_HEADERS } from './topology'
import { InvalidEventError, parseEvent } from './validation'

export interface HandlerContext {
  /** The transaction the dedupe row commits in: write through it, and the effect happens once. */
  trx: Knex.Transaction
  /** Emits a follow-up event through the outbox, in the same transaction. */
  emit: <U extends EventType>(type: U, data: EventData<U>) => Promise<EventEnvelope<U>>
  /** Its lines carry the event's requestId (correlation id), eventId and eventType. */
  logger: Logger
  /** 1 on first delivery, counting up through the retries. */
  attempt: number
}

export type EventHandler<T extends EventType> = (event: EventEnvelope<T>, context: HandlerContext) => Promise<void>

export interface EventConsumerOptions {
  consumer: string
  prefix: string
  db: Knex
  broker: Broker
  prefetch: number
  concurrency: number
  batchSize: number
  retryDelaysMs: number[]
  dedupeRetentionHours: number
  logger: Logger
  metrics: EventMetrics
  emit: (trx: Knex.Transaction, type: EventType, data: unknown) => Promise<EventEnvelope>
}

interface Delivery {
  acks: AckWindow
  message: ConsumeMessage
}

type Outcome = { status: 'done' | 'duplicate' } | { status: 'failed'; error: Error }

class HandlerFailure extends Error {
  constructor(
    readonly delivery: Delivery,
    override readonly cause: Error
  ) {
    super(cause.message)
  }
}

interface Accepted {
  delivery: Delivery
  event: EventEnvelope
}

const PURGE_INTERVAL_MS = 60 * 60_000

// Quorum queues redeliver a message that kept crashing its consumer at most this often, then dead-letter it.
const DELIVERY_LIMIT = 20

/**
 * Consumes the service's queue. Deliveries are handled in small batches, in one transaction per
 * batch, so the dedupe rows and the handlers' writes commit together; a failing event is retried
 * or dead-lettered without undoing the others.
 */
export class EventConsumer {
  private readonly handlers = new Map<EventType, EventHandler<EventType>>()
  private readonly names: ReturnType<typeof consumerQueueNames>
  private channel?: ChannelWrapper
  private pending: Delivery[] = []
  private active = 0
  private idle?: () => void
  private purgeTimer?: NodeJS.Timeout

  constructor(private readonly options: EventConsumerOptions) {
    this.names = consumerQueueNames(options.prefix, options.consumer)
  }

  on<T extends EventType>(type: T, handler: EventHandler<T>) {
    if (this.channel) throw new Error(`Register the ${type} handler before the event bus starts`)
    this.handlers.set(type, handler as unknown as EventHandler<EventType>)
  }

  get hasHandlers() {
    return this.handlers.size > 0
  }

  async start() {
    this.channel = this.options.broker.connection.createChannel({
      name: `consumer ${this.options.consumer}`,
      confirm: true,
      setup: (channel: ConfirmChannel) => this.setup(channel)
    })
    this.channel.on('error', (error: Error) =>
      this.options.logger.error({ err: error.message, consumer: this.options.consumer }, 'consumer channel setup failed')
    )
    this.purgeTimer = setInterval(() => void this.forgetOldEvents(), PURGE_INTERVAL_MS)
  }

  /** Dedupe rows older than the retention are deleted: redeliveries come within minutes, not weeks. */
  async forgetOldEvents() {
    const { db, consumer, dedupeRetentionHours, logger } = this.options
    try {
      const forgotten = await db('processed_events')
        .where({ consumer })
        .where('processed_at', '<', db.raw('now() - make_interval(secs => ?)', [dedupeRetentionHours * 3600]))
        .delete()
      if (forgotten > 0) logger.info({ forgotten }, 'purged old dedupe rows')
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'dedupe purge failed')
    }
  }

  /** Resolves once the queue is declared, bound and consumed (after the broker is reachable). */
  async whenConsuming() {
    await this.channel?.waitForConnect()
  }

  /** Stops taking deliveries and waits for the batches in progress; the broker redelivers the rest. */
  async stop() {
    const channel = this.channel
    if (!channel) return
    clearInterval(this.purgeTimer)
    this.pending = []
    if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve))
    await channel.close()
    this.channel = undefined
  }

  /** Runs on every (re)connect: declares the topology, then consumes. */
  private async setup(channel: ConfirmChannel) {
    const { broker, retryDelaysMs, prefetch } = this.options
    const { queue, deadLetterQueue, retryQueue } = this.names
    const { events, deadLetters } = broker.exchanges
    await broker.declareExchanges(channel)
    const atLeastOnceDeadLettering = { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' }
    await channel.assertQueue(deadLetterQueue, { durable: true, arguments: { 'x-queue-type': 'quorum' } })
    await channel.bindQueue(deadLetterQueue, deadLetters, this.options.consumer)
    await channel.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-delivery-limit': DELIVERY_LIMIT,
        'x-dead-letter-exchange': deadLetters,
        'x-dead-letter-routing-key': this.options.consumer,
        ...atLeastOnceDeadLettering
      }
    })
    for (const type of this.handlers.keys()) await channel.bindQueue(queue, events, type)
    for (const delay of new Set(retryDelaysMs)) {
      await channel.assertQueue(retryQueue(delay), {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          'x-message-ttl': delay,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': queue,
          ...atLeastOnceDeadLettering
        }
      })
    }
    await channel.prefetch(prefetch)
    // A batch in progress from a closed channel can no longer be acked; the broker redelivers it.
    // Room for one more batch of deliveries even while the earliest is slow.
    const acks = new AckWindow(channel, Math.max(1, prefetch - this.options.batchSize))
    this.pending = this.pending.filter((delivery) => delivery.acks.channel === channel)
    await channel.consume(queue, (message) => {
      if (!message) return
      acks.received(message)
      this.pending.push({ acks, message })
      this.pump()
    })
  }

  private pump() {
    const { concurrency, batchSize } = this.options
    while (this.active < concurrency && this.pending.length > 0) {
      const batch = this.pending.splice(0, batchSize)
      this.active += 1
      void this.processBatch(batch)
        .catch((error) => {
          this.options.logger.error({ err: error }, 'event batch failed unexpectedly')
          // Acks go out in order: a delivery left unsettled would hold back every later one.
          for (const { acks, message } of batch) acks.requeueIfUnsettled(message)
        })
        .finally(() => {
          this.active -= 1
          if (this.active === 0 && this.idle) this.idle()
          this.pump()
        })
    }
  }

  private async processBatch(batch: Delivery[]) {
    const { consumer, metrics, logger } = this.options
    const accepted: Accepted[] = []
    for (const delivery of batch) {
      try {
        const event = parseEvent(delivery.message.content)
        if (!this.handlers.has(event.type)) throw new InvalidEventError(`${consumer} has no handler for ${event.type}`)
        accepted.push({ delivery, event })
      } catch (error) {
        await this.deadLetter(delivery, error as Error)
      }
    }
    if (accepted.length === 0) return
    const outcomes = await this.handleAll(accepted)
    for (const { delivery, event } of accepted) {
      const outcome = outcomes.get(delivery)!
      const labels = { type: event.type, consumer }
      if (outcome.status === 'failed') {
        metrics.failed.inc(labels)
        logger.warn({ eventId: event.id, eventType: event.type, err: outcome.error.message }, 'event handler failed')
        await this.retryOrDeadLetter(delivery, outcome.error)
      } else {
        metrics[outcome.status === 'done' ? 'consumed' : 'duplicates'].inc(labels)
        this.ack(delivery)
      }
    }
  }

  /**
   * Handles the batch in one transaction. When a handler throws, the transaction rolls back, that
   * event alone is marked failed and the others are handled again without it: each failure costs
   * one rollback, and a failing handler runs once per attempt.
   */
  private async handleAll(accepted: Accepted[]) {
    const outcomes = new Map<Delivery, Outcome>()
    let remaining = accepted
    while (remaining.length > 0) {
      try {
        for (const [delivery, outcome] of await this.handleInOneTransaction(remaining)) outcomes.set(delivery, outcome)
        break
      } catch (error) {
        if (!(error instanceof HandlerFailure)) {
          // The database failed, not a handler: nothing of what remains happened.
          for (const { delivery } of remaining) outcomes.set(delivery, { status: 'failed', error: error as Error })
          break
        }
        outcomes.set(error.delivery, { status: 'failed', error: error.cause })
        remaining = remaining.filter(({ delivery }) => delivery !== error.delivery)
      }
    }
    return outcomes
  }

  /** One transaction: a multi-row dedupe insert, then every new event's handler in turn. */
  private async handleInOneTransaction(accepted: Accepted[]) {
    const { db, consumer } = this.options
    const outcomes = new Map<Delivery, Outcome>()
    await db.transaction(async (trx) => {
      const ids = [...new Set(accepted.map(({ event }) => event.id))]
      const inserted = await trx('processed_events')
        .insert(ids.map((id) => ({ consumer, event_id: id })))
        .onConflict(['consumer', 'event_id'])
        .ignore()
        .returning('event_id')
      const fresh = new Set(inserted.map((row: { event_id: string }) => row.event_id))
      for (const { delivery, event } of accepted) {
        // The same event twice in one batch: the first one handles it.
        if (!fresh.delete(event.id)) {
          outcomes.set(delivery, { status: 'duplicate' })
          continue
        }
        await this.runHandler(trx, delivery, event).catch((error: Error) => {
          throw new HandlerFailure(delivery, error)
        })
        outcomes.set(delivery, { status: 'done' })
      }
    })
    return outcomes
  }

  private runHandler(trx: Knex.Transaction, delivery: Delivery, event: EventEnvelope) {
    const { logger, emit } = this.options
    const handler = this.handlers.get(event.type)!
    // Handlers of one batch run one after the other in its transaction: each one's follow-up events stem from its event.
    setEventCause(trx, { correlationId: event.correlationId, causationId: event.id })
    return handler(event, {
      trx,
      emit: (type, data) => emit(trx, type, data) as never,
      logger: logger.child({ requestId: event.correlationId, eventId: event.id, eventType: event.type }),
      attempt: attemptOf(delivery)
    })
  }

  private async retryOrDeadLetter(delivery: Delivery, error: Error) {
    const attempt = attemptOf(delivery)
    const delay = this.options.retryDelaysMs[attempt - 1]
    if (delay === undefined) return this.deadLetter(delivery, error)
    const { message } = delivery
    try {
      await this.options.broker.publish('', this.names.retryQueue(delay), message.content, {
        ...message.properties,
        headers: { ...message.properties.headers, [ATTEMPT_HEADER]: attempt + 1, [DEAD_LETTER_HEADERS.error]: error.message }
      })
      this.options.metrics.retried.inc({ type: eventTypeOf(message), consumer: this.options.consumer })
      this.ack(delivery)
    } catch (publishError) {
      this.requeue(delivery, publishError as Error)
    }
  }

  /** Sends the untouched body to the dead-letter queue with why, when and after how many attempts. */
  private async deadLetter(delivery: Delivery, error: Error) {
    const { broker, consumer, metrics, logger } = this.options
    const { message } = delivery
    const type = eventTypeOf(message)
    try {
      await broker.publish(broker.exchanges.deadLetters, consumer, message.content, {
        ...message.properties,
        headers: {
          ...message.properties.headers,
          [DEAD_LETTER_HEADERS.error]: error.message,
          [DEAD_LETTER_HEADERS.attempts]: attemptOf(delivery),
          [DEAD_LETTER_HEADERS.consumer]: consumer,
          [DEAD_LETTER_HEADERS.failedAt]: new Date().toISOString(),
          [DEAD_LETTER_HEADERS.routingKey]: originalRoutingKey(message)
        }
      })
      metrics.deadLettered.inc({ type, consumer })
      logger.error({ eventType: type, messageId: message.properties.messageId, err: error.message }, 'event dead-lettered')
      this.ack(delivery)
    } catch (publishError) {
      this.requeue(delivery, publishError as Error)
    }
  }

  private ack({ acks, message }: Delivery) {
    acks.ack(message)
  }

  private requeue({ acks, message }: Delivery, error: Error) {
    this.options.logger.warn({ err: error.message }, 'could not forward a failed event; leaving it to the broker')
    acks.requeue(message)
  }
}

const attemptOf = ({ message }: Delivery) => Number(message.properties.headers?.[ATTEMPT_HEADER] ?? 1)

/** A message back from a retry queue arrives with the queue's name as routing key. */
const originalRoutingKey = (message: ConsumeMessage) =>
  String(message.properties.headers?.[DEAD_LETTER_HEADERS.routingKey] ?? message.properties.type ?? message.fields.routingKey)

const eventTypeOf = (message: ConsumeMessage) => String(message.properties.type ?? message.fields.routingKey)
