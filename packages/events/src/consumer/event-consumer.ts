import type { ConsumeMessage, ConfirmChannel } from 'amqplib'
import type { ChannelWrapper } from 'amqp-connection-manager'
import type { Knex } from 'knex'
import { runInTransaction } from './knex-internals'
import type { Logger } from 'pino'
import { AckWindow } from './acks'
import type { Broker } from './broker'
import type { EventData, EventEnvelope, EventType } from './event-types'
import type { SideEffects } from './effects'
import { databaseAnswers, isInfrastructureFailure, isLockConflict } from './infrastructure'
import type { EventMetrics } from './metrics'
import { withEventCause } from './cause'
import { purgeInBatches } from './purge'
import { ATTEMPT_HEADER, consumerQueueNames, DEAD_LETTER_HEADERS, declareConsumerQueues, declareExchanges, type ConsumerTable } from './topology'
import { InvalidEventError, parseEvent } from './validation'

export interface HandlerContext {
  /** The transaction the dedupe row commits in: write through it, and the effect happens once. */
  trx: Knex.Transaction
  /** Emits a follow-up event through the outbox, in the same transaction. */
  emit: <U extends EventType>(type: U, data: EventData<U>) => Promise<EventEnvelope<U>>
  /**
   * Schedules work outside the database (mail, print, a payment call) in the same transaction:
   * it is carried out once after commit, however often this handler runs. Returns its stable id.
   */
  schedule: (kind: string, key: string, payload: unknown, options?: { delayMs?: number }) => Promise<string>
  /** Its lines carry the event's requestId (correlation id), eventId and eventType. */
  logger: Logger
  /** 1 on first delivery, counting up through the retries. */
  attempt: number
}

export type EventHandler<T extends EventType> = (event: EventEnvelope<T>, context: HandlerContext) => Promise<void>

export interface HandlerOptions {
  /**
   * The handler takes row or advisory locks (SELECT … FOR UPDATE, UPDATE of shared rows): it runs
   * in a transaction of its own, so two batches never hold each other's locks and deadlock.
   */
  ownTransaction?: boolean
}

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
  /** A redelivered event whose handling was started this many times without being settled is dead-lettered. */
  crashLimit: number
  dedupeRetentionHours: number
  logger: Logger
  metrics: EventMetrics
  effects: SideEffects
  emit: (trx: Knex.Transaction, type: EventType, data: unknown) => Promise<EventEnvelope>
}

interface Delivery {
  acks: AckWindow
  message: ConsumeMessage
  event?: EventEnvelope
  invalid?: Error
}

interface Accepted extends Delivery {
  event: EventEnvelope
}

type Outcome = { status: 'done' | 'duplicate' } | { status: 'failed'; error: Error }

class HandlerFailure extends Error {
  constructor(
    readonly delivery: Accepted,
    override readonly cause: Error
  ) {
    super(cause.message)
  }
}

interface Registration {
  handler: EventHandler<EventType>
  ownTransaction: boolean
}

const PURGE_INTERVAL_MS = 60 * 60_000
const PAUSE_FIRST_DELAY_MS = 100
const PAUSE_MAX_DELAY_MS = 5_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

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
 */
export class EventConsumer {
  private readonly handlers = new Map<EventType, Registration>()
  private readonly names: ReturnType<typeof consumerQueueNames>
  private channel?: ChannelWrapper
  private consuming?: { channel: ConfirmChannel; consumerTag: string }
  private pending: Delivery[] = []
  private active = 0
  private exclusive = false
  private paused?: Promise<void>
  private stopping = false
  private idle?: () => void
  private purgeTimer?: NodeJS.Timeout

  constructor(private readonly options: EventConsumerOptions) {
    this.names = consumerQueueNames(options.prefix, options.consumer)
  }

  on<T extends EventType>(type: T, handler: EventHandler<T>, options: HandlerOptions = {}) {
    if (this.channel) throw new Error(`Register the ${type} handler before the event bus starts`)
    this.handlers.set(type, { handler: handler as unknown as EventHandler<EventType>, ownTransaction: options.ownTransaction ?? false })
  }

  get hasHandlers() {
    return this.handlers.size > 0
  }

  /** The types bound to the queue: the consumer's line of the table, which its handlers must match. */
  private boundTypes(): readonly EventType[] {
    const { consumer, consumers } = this.options
    const listed = consumers[consumer]
    if (!listed) return [...this.handlers.keys()]
    const unlisted = [...this.handlers.keys()].filter((type) => !listed.includes(type))
    const unhandled = listed.filter((type) => !this.handlers.has(type))
    if (unlisted.length > 0 || unhandled.length > 0) {
      throw new Error(
        `${consumer}: its handlers must match its line in EVENT_CONSUMERS (@marketmesh/shared)` +
          (unlisted.length ? `; handled but not listed: ${unlisted.join(', ')}` : '') +
          (unhandled.length ? `; listed but not handled: ${unhandled.join(', ')}` : '')
      )
    }
    return listed
  }

  async start() {
    const types = this.boundTypes()
    this.stopping = false
    this.channel = this.options.broker.connection.createChannel({
      name: `consumer ${this.options.consumer}`,
      confirm: true,
      setup: (channel: ConfirmChannel) => this.setup(channel, types)
    })
    this.channel.on('error', (error: Error) =>
      this.options.logger.error({ err: error.message, consumer: this.options.consumer }, 'consumer channel setup failed')
    )
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
    this.pending = []
    if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve))
    await channel.close()
    this.channel = undefined
  }

  /** Runs on every (re)connect: declares the topology, then consumes. */
  private async setup(channel: ConfirmChannel, types: readonly EventType[]) {
    if (this.stopping) return
    const { prefix, retryDelaysMs, prefetch, consumer, batchSize } = this.options
    await declareExchanges(channel, prefix)
    await declareConsumerQueues(channel, { prefix, retryDelaysMs }, consumer, types)
    await channel.prefetch(prefetch)
    // A batch in progress from a closed channel can no longer be acked; the broker redelivers it.
    // Room for one more batch of deliveries even while the earliest is slow.
    const acks = new AckWindow(channel, Math.max(1, prefetch - batchSize))
    this.pending = this.pending.filter((delivery) => delivery.acks.channel === channel)
    const { consumerTag } = await channel.consume(this.names.queue, (message) => {
      if (!message) return
      acks.received(message)
      this.pending.push(this.parse(acks, message))
      this.pump()
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

  /** A redelivered event, or one whose handler takes locks, is handled alone. */
  private runsAlone(delivery: Delivery) {
    return delivery.message.fields.redelivered || (delivery.event !== undefined && this.handlers.get(delivery.event.type)!.ownTransaction)
  }

  private takeBatch() {
    const batch: Delivery[] = []
    while (this.pending.length > 0 && batch.length < this.options.batchSize) {
      if (this.runsAlone(this.pending[0])) {
        if (batch.length === 0) batch.push(this.pending.shift()!)
        break
      }
      batch.push(this.pending.shift()!)
    }
    return batch
  }

  private pump() {
    const { concurrency } = this.options
    while (!this.paused && !this.stopping && !this.exclusive && this.active < concurrency && this.pending.length > 0) {
      // A redelivery may be what crashed the consumer: it runs with nothing beside it, so the
      // crash counts against it alone.
      const redelivered = this.pending[0].message.fields.redelivered
      if (redelivered && this.active > 0) return
      const batch = this.takeBatch()
      this.active += 1
      this.exclusive = redelivered
      void this.processBatch(batch)
        .catch((error) => {
          this.options.logger.error({ err: error }, 'event batch failed unexpectedly')
          // Acks go out in order: a delivery left unsettled would hold back every later one.
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

  private async processBatch(batch: Delivery[]) {
    const { consumer, metrics, logger, crashLimit } = this.options
    const accepted: Accepted[] = []
    for (const delivery of batch) {
      if (delivery.invalid) await this.deadLetter(delivery, delivery.invalid)
      else accepted.push(delivery as Accepted)
    }
    if (accepted.length === 0) return
    if (accepted.length === 1 && accepted[0].message.fields.redelivered) {
      const starts = await this.whileInfrastructureFails(() => this.markStarted(accepted[0].event))
      if (starts === undefined) return
      if (starts > crashLimit) {
        const error = new Error(`its handling was interrupted ${starts - 1} times (the consumer crashed or lost its connections while handling it)`)
        return this.deadLetter(accepted[0], error)
      }
    }
    const outcomes = await this.handleAll(accepted)
    for (const delivery of accepted) {
      const outcome = outcomes.get(delivery)
      // Not handled (its channel closed, or the consumer is stopping): the broker redelivers it.
      if (!outcome) continue
      const labels = { type: delivery.event.type, consumer }
      if (outcome.status === 'failed') {
        metrics.failed.inc(labels)
        logger.warn({ eventId: delivery.event.id, eventType: delivery.event.type, err: outcome.error.message }, 'event handler failed')
        await this.retryOrDeadLetter(delivery, outcome.error)
      } else {
        metrics[outcome.status === 'done' ? 'consumed' : 'duplicates'].inc(labels)
        delivery.acks.ack(delivery.message)
      }
    }
  }

  /** Committed before the handler runs, so a crash during it is counted. */
  private async markStarted(event: EventEnvelope) {
    const { db, consumer } = this.options
    const [row] = await db('interrupted_events')
      .insert({ consumer, event_id: event.id, starts: 1 })
      .onConflict(['consumer', 'event_id'])
      .merge({ starts: db.raw('interrupted_events.starts + 1'), last_started_at: db.fn.now() })
      .returning('starts')
    return row.starts as number
  }

  /**
   * Runs `work` until it succeeds or fails for a reason of its own; while the database does not
   * answer, consumption is paused. Undefined when the consumer stops meanwhile.
   */
  private async whileInfrastructureFails<T>(work: () => Promise<T>): Promise<T | undefined> {
    for (;;) {
      if (this.stopping) return undefined
      try {
        return await work()
      } catch (error) {
        if (!(await isInfrastructureFailure(error, this.options.db))) throw error
        await this.pauseUntilDatabaseAnswers(error as Error)
      }
    }
  }

  /**
   * Handles the events, as many as possible in one transaction. When a handler throws, the
   * transaction rolls back, that event alone is marked failed and the others are handled again
   * without it. When the database fails instead, nothing is an attempt: after a lock conflict
   * each event is handled again alone, after a lost database once it answers again.
   */
  private async handleAll(accepted: Accepted[]) {
    const outcomes = new Map<Delivery, Outcome>()
    const groups = [accepted]
    while (groups.length > 0 && !this.stopping) {
      const group = groups.shift()!.filter(({ acks }) => acks.isOpen)
      if (group.length === 0) continue
      try {
        for (const [delivery, outcome] of await this.handleInOneTransaction(group)) outcomes.set(delivery, outcome)
      } catch (error) {
        const failure = error instanceof HandlerFailure ? error : undefined
        const cause = failure?.cause ?? (error as Error)
        if (await isInfrastructureFailure(cause, this.options.db)) {
          if (isLockConflict(cause)) {
            groups.unshift(...group.map((delivery) => [delivery]))
          } else {
            await this.pauseUntilDatabaseAnswers(cause)
            groups.unshift(group)
          }
        } else if (failure) {
          outcomes.set(failure.delivery, { status: 'failed', error: cause })
          groups.unshift(group.filter((delivery) => delivery !== failure.delivery))
        } else {
          for (const delivery of group) outcomes.set(delivery, { status: 'failed', error: cause })
        }
      }
    }
    return outcomes
  }

  /** One pause for the whole consumer, however many batches ran into the outage. */
  private pauseUntilDatabaseAnswers(error: Error) {
    if (!this.paused) {
      const { db, logger, metrics, consumer } = this.options
      metrics.paused.inc({ consumer })
      logger.warn({ err: error.message }, 'database unavailable: consumption paused, no attempt counted')
      this.paused = (async () => {
        for (let delay = PAUSE_FIRST_DELAY_MS; !this.stopping; delay = Math.min(delay * 2, PAUSE_MAX_DELAY_MS)) {
          await sleep(delay)
          if (await databaseAnswers(db)) return
        }
      })().finally(() => {
        this.paused = undefined
        logger.info('database answers again: consumption resumed')
        this.pump()
      })
    }
    return this.paused
  }

  /** One transaction: a multi-row dedupe insert, then every new event's handler in turn. */
  private async handleInOneTransaction(accepted: Accepted[]) {
    const { db, consumer } = this.options
    const outcomes = new Map<Delivery, Outcome>()
    await runInTransaction(db, async (trx) => {
      // Sorted, so two batches inserting some of the same ids take their index locks in one order.
      const ids = [...new Set(accepted.map(({ event }) => event.id))].sort()
      const inserted = await trx('processed_events')
        .insert(ids.map((id) => ({ consumer, event_id: id })))
        .onConflict(['consumer', 'event_id'])
        .ignore()
        .returning('event_id')
      const fresh = new Set(inserted.map((row: { event_id: string }) => row.event_id))
      for (const delivery of accepted) {
        const { event } = delivery
        // The same event twice in one batch: the first one handles it.
        if (!fresh.delete(event.id)) {
          outcomes.set(delivery, { status: 'duplicate' })
          continue
        }
        await this.runHandler(trx, delivery).catch((error: Error) => {
          throw new HandlerFailure(delivery, error)
        })
        outcomes.set(delivery, { status: 'done' })
      }
      const redelivered = accepted.filter(({ message }) => message.fields.redelivered).map(({ event }) => event.id)
      if (redelivered.length > 0) await trx('interrupted_events').where({ consumer }).whereIn('event_id', redelivered).delete()
    })
    return outcomes
  }

  private runHandler(trx: Knex.Transaction, delivery: Accepted) {
    const { logger, emit, effects } = this.options
    const { event } = delivery
    const { handler } = this.handlers.get(event.type)!
    // Handlers of one batch run one after the other in its transaction: each one's follow-up events stem from its event.
    return withEventCause({ correlationId: event.correlationId, causationId: event.id }, () =>
      handler(event, {
        trx,
        emit: (type, data) => emit(trx, type, data) as never,
        schedule: (kind, key, payload, options) => effects.schedule(trx, kind, key, payload, options),
        logger: logger.child({ requestId: event.correlationId, eventId: event.id, eventType: event.type }),
        attempt: attemptOf(delivery)
      })
    )
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
      delivery.acks.ack(message)
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
      delivery.acks.ack(message)
    } catch (publishError) {
      this.requeue(delivery, publishError as Error)
    }
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
