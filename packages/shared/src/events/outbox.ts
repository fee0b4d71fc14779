import { randomUUID } from 'node:crypto'
import { Gauge, type Registry } from 'prom-client'
import type { Knex } from '../database'
import { currentLogContext, type Logger } from '../logger'
import type { Broker } from './broker'
import { EVENT_VERSION, type EventData, type EventEnvelope, type EventType } from './catalog'
import type { EventMetrics } from './metrics'
import { REQUEST_ID_HEADER } from './topology'
import { assertEventData } from './validation'

/**
 * Writes an event to the outbox inside the caller's transaction: it is published if and only if
 * that transaction commits. Correlation and causation come from the request or event being handled.
 */
export const writeToOutbox = async <T extends EventType>(
  trx: Knex.Transaction,
  source: string,
  type: T,
  data: EventData<T>
): Promise<EventEnvelope<T>> => {
  assertEventData(type, data)
  const context = currentLogContext()
  const id = randomUUID()
  const envelope: EventEnvelope<T> = {
    id,
    type,
    version: EVENT_VERSION,
    occurredAt: new Date().toISOString(),
    source,
    correlationId: context.requestId ?? id,
    causationId: context.eventId ?? null,
    data
  }
  await trx('outbox').insert({ event_id: id, type, envelope: JSON.stringify(envelope) })
  return envelope
}

export interface OutboxRelayOptions {
  db: Knex
  broker: Broker
  batchSize: number
  pollIntervalMs: number
  retentionHours: number
  logger: Logger
  metrics: EventMetrics
  registry: Registry
  /** Called after a batch is confirmed by the broker, before it is marked sent. */
  afterPublish?: (envelopes: EventEnvelope[]) => Promise<void> | void
}

interface OutboxRow {
  id: number
  envelope: EventEnvelope
}

// pg_try_advisory_xact_lock key: one relay at a time per database keeps the publish order.
const RELAY_LOCK = 0x6d6d6f62

const LOCKED_ELSEWHERE = -1
const LOCK_RETRY_MS = 50
const PURGE_INTERVAL_MS = 15 * 60_000

/**
 * Publishes unsent outbox rows in order, with publisher confirms, then marks them sent. Woken when
 * a transaction that emitted commits; the poll interval is a safety net (rows left by a crashed
 * instance, a broker outage). A crash between publish and mark republishes the batch, which
 * consumers absorb by their dedupe.
 */
export class OutboxRelay {
  private timers: NodeJS.Timeout[] = []
  private retryTimer?: NodeJS.Timeout
  private running?: Promise<void>
  private wakeAgain = false
  private stopped = true
  private failures = 0

  constructor(private readonly options: OutboxRelayOptions) {
    const { db, registry } = options
    const backlogQuery = () =>
      db('outbox')
        .whereNull('sent_at')
        .first(db.raw('count(*)::int AS backlog'), db.raw('extract(epoch from now() - min(created_at))::float AS age'))
    let last: Promise<{ backlog: number; age: number | null } | undefined> | undefined
    // Both gauges come from one query per scrape.
    const sample = () => (last ??= backlogQuery().finally(() => setTimeout(() => (last = undefined), 100)))
    new Gauge({
      name: 'outbox_backlog',
      help: 'Outbox rows not yet published',
      registers: [registry],
      async collect() {
        this.set((await sample())?.backlog ?? 0)
      }
    })
    new Gauge({
      name: 'outbox_oldest_unsent_age_seconds',
      help: 'Age of the oldest unpublished outbox row (0 when none)',
      registers: [registry],
      async collect() {
        this.set((await sample())?.age ?? 0)
      }
    })
  }

  async start() {
    this.stopped = false
    this.timers.push(setInterval(() => this.wake(), this.options.pollIntervalMs))
    this.timers.push(setInterval(() => void this.purge(), PURGE_INTERVAL_MS))
    this.wake()
  }

  async stop() {
    this.stopped = true
    this.timers.forEach(clearInterval)
    this.timers = []
    clearTimeout(this.retryTimer)
    await this.running
  }

  /** Runs the relay now, or once more right after the run in progress. */
  wake() {
    if (this.stopped) return
    if (this.running) {
      this.wakeAgain = true
      return
    }
    this.running = this.drain().finally(() => {
      this.running = undefined
      if (this.wakeAgain) {
        this.wakeAgain = false
        this.wake()
      }
    })
  }

  private async drain() {
    try {
      for (;;) {
        const published = await this.publishBatch()
        if (published === LOCKED_ELSEWHERE) {
          // Another instance is publishing; our rows may have committed after its last read.
          clearTimeout(this.retryTimer)
          this.retryTimer = setTimeout(() => this.wake(), LOCK_RETRY_MS)
          break
        }
        if (this.stopped || published < this.options.batchSize) break
      }
      this.failures = 0
    } catch (error) {
      this.failures += 1
      const delay = Math.min(500 * 2 ** this.failures, this.options.pollIntervalMs)
      this.options.logger.warn({ err: (error as Error).message, retryInMs: delay }, 'outbox relay failed; will retry')
      clearTimeout(this.retryTimer)
      this.retryTimer = setTimeout(() => this.wake(), delay)
    }
  }

  /** Publishes one batch; returns how many rows it sent, or LOCKED_ELSEWHERE. */
  async publishBatch(): Promise<number> {
    const { db, broker, batchSize, metrics } = this.options
    return db.transaction(async (trx) => {
      const { rows: lock } = await trx.raw('SELECT pg_try_advisory_xact_lock(?) AS locked', [RELAY_LOCK])
      if (!lock[0].locked) return LOCKED_ELSEWHERE
      const rows: OutboxRow[] = await trx('outbox').select('id', 'envelope').whereNull('sent_at').orderBy('id').limit(batchSize)
      if (rows.length === 0) return 0
      await Promise.all(
        rows.map(({ envelope }) =>
          broker.publish(broker.exchanges.events, envelope.type, Buffer.from(JSON.stringify(envelope)), {
            messageId: envelope.id,
            type: envelope.type,
            appId: envelope.source,
            contentType: 'application/json',
            timestamp: Math.floor(Date.parse(envelope.occurredAt) / 1000),
            correlationId: envelope.correlationId,
            headers: { [REQUEST_ID_HEADER]: envelope.correlationId }
          })
        )
      )
      await this.options.afterPublish?.(rows.map((row) => row.envelope))
      await trx('outbox')
        .whereIn('id', rows.map((row) => row.id))
        .update({ sent_at: trx.fn.now() })
      for (const { envelope } of rows) metrics.published.inc({ type: envelope.type })
      return rows.length
    })
  }

  async purge() {
    const { db, retentionHours, logger } = this.options
    try {
      const purged = await db('outbox')
        .whereNotNull('sent_at')
        .where('sent_at', '<', db.raw(`now() - make_interval(secs => ?)`, [retentionHours * 3600]))
        .delete()
      if (purged > 0) logger.info({ purged }, 'purged sent outbox rows')
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'outbox purge failed')
    }
  }
}
