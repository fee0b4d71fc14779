import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { Gauge, type Registry } from 'prom-client'
import type { Knex } from 'knex'
import type { Logger } from 'pino'
import type { Broker } from './broker'
import { currentEventCause } from './cause'
import { CoalescingRunner } from './coalescing-runner'
import { EVENT_VERSION, type EventData, type EventEnvelope, type EventType } from './event-types'
import type { EventMetrics } from './metrics'
import { purgeInBatches, vacuumWhenDead } from './purge'
import { REQUEST_ID_HEADER } from './topology'
import { currentTraceparent, eventAttributes, inSpan, SpanKind, TRACEPARENT, traceparentOf } from './tracing'
import { assertEventData } from './validation'

const insertEvents = (count: number) =>
  `INSERT INTO outbox (event_id, type, envelope, traceparent) VALUES ${Array(count).fill('(?, ?, ?, ?)').join(', ')}`

/**
 * The outbox rows of events and the one statement that writes them, in the order given: validated,
 * carrying the cause of the caller's `withEventCause` (without one, each event starts its own
 * correlation) and the span active in the caller (a request's, a handler's), whose child the
 * relay's publish is. Published if and only if the transaction the statement runs in commits.
 */
export const outboxInsert = <T extends EventType>(source: string, type: T, dataList: EventData<T>[]) => {
  if (dataList.length === 0) throw new Error('outboxInsert: no events to write')
  for (const data of dataList) assertEventData(type, data)
  const cause = currentEventCause()
  const occurredAt = new Date().toISOString()
  const envelopes = dataList.map((data): EventEnvelope<T> => {
    const id = randomUUID()
    return {
      id,
      type,
      version: EVENT_VERSION,
      occurredAt,
      source,
      correlationId: cause?.correlationId ?? id,
      causationId: cause?.causationId ?? null,
      data
    }
  })
  const traceparent = currentTraceparent()
  return {
    envelopes,
    sql: insertEvents(envelopes.length),
    bindings: envelopes.flatMap((envelope) => [envelope.id, type, JSON.stringify(envelope), traceparent])
  }
}

/** Writes events to the outbox inside the caller's transaction, in one statement (`outboxInsert`). */
export const writeToOutbox = async <T extends EventType>(
  trx: Knex.Transaction,
  source: string,
  type: T,
  dataList: EventData<T>[]
): Promise<EventEnvelope<T>[]> => {
  if (dataList.length === 0) return []
  const { envelopes, sql, bindings } = outboxInsert(source, type, dataList)
  await trx.raw(sql, bindings)
  return envelopes
}

export interface OutboxRelayOptions {
  db: Knex
  /** The database's URL: the relay drains on a connection of its own, outside the pool. */
  connection: string
  broker: Broker
  batchSize: number
  pollIntervalMs: number
  retentionHours: number
  logger: Logger
  metrics: EventMetrics
  registry: Registry
  /** Called after a batch is confirmed by the broker, before it is marked sent. */
  afterPublish?: () => Promise<void> | void
}

interface UnsentRow {
  id: number
  /** The envelope as written: what is published. */
  body: string
  type: EventType
  event_id: string
  traceparent: string | null
}

// Session advisory lock key: one relay at a time per database keeps the publish order.
const RELAY_LOCK = 0x6d6d6f62

/** What a standby's emitting transaction notifies on commit, to wake the relay holding the lock. */
const WAKE_CHANNEL = 'marketmesh_outbox'

// Every minute: the purge also vacuums the table, whose dead rows make every relay read dearer.
const PURGE_INTERVAL_MS = 60_000

// The relay's two statements, named: PostgreSQL parses and plans each once for the relay's
// connection, not at every batch (the services' pooled connections prepare theirs the same way).
const READ_UNSENT = {
  name: 'outbox-read-unsent',
  text: `
  SELECT id, event_id, type, envelope::text AS body, traceparent
    FROM outbox
   WHERE sent_at IS NULL AND id <> ALL($1::bigint[])
   ORDER BY id
   LIMIT $2`
}
const MARK_SENT = { name: 'outbox-mark-sent', text: 'UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])' }

/**
 * Publishes unsent outbox rows in order, with publisher confirms, then marks them sent. Woken when
 * a transaction that emitted commits, and when the broker connection comes back; the poll
 * interval is a safety net (rows left by a crashed instance). A crash between publish and mark
 * republishes the batch, which consumers absorb by their dedupe. While the broker is away it
 * does not publish at all: what is unsent stays in the table, however long the outage.
 *
 * It works on a connection of its own, outside the pool, where it holds the advisory lock that
 * makes it the only relay of its database for as long as it runs (PostgreSQL releases it if the
 * process dies, and the relay lets it go while its broker is away). Another instance is a
 * standby: it waits for that lock (no polling), and its emitting transactions notify the leader,
 * which listens on the same connection. While the broker confirms one batch, the next is read and sent.
 */
export class OutboxRelay {
  private readonly runner = new CoalescingRunner(() => this.drain())
  private timers: NodeJS.Timeout[] = []
  private retryTimer?: NodeJS.Timeout
  private connection?: Promise<pg.Client>
  private leading?: Promise<pg.Client>
  private failures = 0
  private readonly notifying = new WeakSet<Knex.Transaction>()
  /** This instance holds the lock: it publishes what its own transactions commit when they wake it. */
  isLeader = false

  constructor(private readonly options: OutboxRelayOptions) {
    const { db, registry } = options
    const backlogQuery = () =>
      db('outbox').whereNull('sent_at').first(db.raw('count(*)::int AS backlog'), db.raw('extract(epoch from now() - min(created_at))::float AS age'))
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

  private get stopped() {
    return this.runner.isStopped
  }

  async start() {
    this.options.broker.onConnect(() => this.wake())
    this.timers.push(setInterval(() => this.wake(), this.options.pollIntervalMs))
    this.timers.push(setInterval(() => void this.purge(), PURGE_INTERVAL_MS))
    this.runner.start()
  }

  async stop() {
    const running = this.runner.stop()
    this.timers.forEach(clearInterval)
    this.timers = []
    clearTimeout(this.retryTimer)
    // A standby's run can only be connecting or waiting for the other instance's lock, which would
    // outlast the shutdown: end it with the connection. The leader finishes the batch it publishes.
    if (!this.isLeader) await this.disconnect()
    await running
    await this.disconnect()
  }

  /** Runs the relay now, or once more right after the run in progress. */
  wake() {
    this.runner.wake()
  }

  /**
   * In an emitting transaction of a standby: wakes the leader when it commits. The leader's
   * own transactions wake it in process, without a notification (whose commit takes a global lock).
   */
  async notifyLeader(trx: Knex.Transaction) {
    if (this.isLeader || this.notifying.has(trx)) return
    this.notifying.add(trx)
    await trx.raw(`NOTIFY ${WAKE_CHANNEL}`)
  }

  private async drain() {
    // Away from the broker, the lock goes to an instance that can publish; woken again by the reconnect.
    if (!this.options.broker.isConnected()) return this.disconnect()
    try {
      const connection = await this.lead()
      if (this.stopped) return
      await this.publishUnsent(connection)
      this.failures = 0
    } catch (error) {
      if (this.stopped) return
      this.failures += 1
      const delay = Math.min(500 * 2 ** this.failures, this.options.pollIntervalMs)
      this.options.logger.warn({ err: (error as Error).message, retryInMs: delay }, 'outbox relay failed; will retry')
      // The lock may still be held on that connection: closing it is the sure way to let it go.
      await this.disconnect()
      this.retryLater(delay)
    }
  }

  /** The relay's connection once it holds the lock (waiting for it while another instance does) and listens. */
  private lead() {
    this.leading ??= (async () => {
      const connection = await this.connect()
      await connection.query('SELECT pg_advisory_lock($1)', [RELAY_LOCK])
      connection.on('notification', () => this.wake())
      await connection.query(`LISTEN ${WAKE_CHANNEL}`)
      this.isLeader = true
      return connection
    })()
    return this.leading
  }

  /**
   * Publishes batch after batch until none is left. Batch n+1 is read (leaving out the rows of
   * batch n, published but not yet marked) and published while the broker confirms batch n.
   */
  private async publishUnsent(connection: pg.Client) {
    const { batchSize } = this.options
    let inFlight: { ids: number[]; marked: Promise<void> } | undefined
    for (;;) {
      const { rows } = await connection.query<UnsentRow>({ ...READ_UNSENT, values: [inFlight?.ids ?? [], batchSize] })
      if (rows.length === 0) break
      const ids = rows.map((row) => row.id)
      // Waits for both: a batch whose predecessor failed must still have its own rejection handled.
      const marked = Promise.all([inFlight?.marked, this.publish(rows)])
        .then(() => this.options.afterPublish?.())
        .then(() => this.markSent(connection, rows))
      // Awaited below or by the next turn; this only keeps a failure from being reported twice.
      marked.catch(() => undefined)
      if (inFlight) await inFlight.marked
      inFlight = { ids, marked }
      if (this.stopped || rows.length < batchSize) break
    }
    await inFlight?.marked
  }

  private publish(rows: UnsentRow[]) {
    return Promise.all(
      rows.map((row) => {
        const envelope = JSON.parse(row.body) as EventEnvelope
        return row.traceparent ? this.publishTraced(row, envelope, row.traceparent) : this.publishOne(row, envelope)
      })
    )
  }

  /** A row written under a span: published in a child span of it, whose context the message carries. */
  private publishTraced(row: UnsentRow, envelope: EventEnvelope, parent: string) {
    const attributes = {
      ...eventAttributes(row.type, envelope.data),
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'send',
      'messaging.destination.name': this.options.broker.exchanges.events,
      'messaging.message.id': row.event_id
    }
    return inSpan(`publish ${row.type}`, { kind: SpanKind.PRODUCER, parent, attributes }, (span) =>
      this.publishOne(row, envelope, traceparentOf(span))
    )
  }

  private publishOne(row: UnsentRow, envelope: EventEnvelope, traceparent?: string | null) {
    const { broker } = this.options
    return broker.publish(broker.exchanges.events, row.type, Buffer.from(row.body), {
      messageId: row.event_id,
      type: row.type,
      appId: envelope.source,
      contentType: 'application/json',
      timestamp: Math.floor(Date.parse(envelope.occurredAt) / 1000),
      correlationId: envelope.correlationId,
      headers: { [REQUEST_ID_HEADER]: envelope.correlationId, ...(traceparent && { [TRACEPARENT]: traceparent }) }
    })
  }

  private async markSent(connection: pg.Client, rows: UnsentRow[]) {
    await connection.query({ ...MARK_SENT, values: [rows.map((row) => row.id)] })
    for (const row of rows) this.options.metrics.published.inc({ type: row.type })
  }

  private retryLater(delay: number) {
    clearTimeout(this.retryTimer)
    this.retryTimer = setTimeout(() => this.wake(), delay)
  }

  private connect() {
    if (!this.connection) {
      const { logger } = this.options
      const client = new pg.Client({ connectionString: this.options.connection, application_name: 'outbox relay' })
      // Its only writes mark rows sent: a mark the database loses in a crash (a commit not yet
      // flushed) republishes those rows, which consumers absorb by their dedupe, as after a relay
      // crash between publish and mark. So its commits need not wait for the disk. Its read walks
      // `outbox_unsent` with an index scan, which marks the entries of rows already sent dead as
      // it passes them; a bitmap scan (the planner's pick on lagging statistics) would visit them
      // all again at every read: a soak measured 220 blocks a read for one unsent row.
      const connection = client
        .connect()
        .then(() => client.query('SET synchronous_commit = off; SET enable_bitmapscan = off'))
        .then(() => client)
      client.on('error', (error) => {
        logger.warn({ err: error.message }, 'outbox relay connection lost')
        if (this.connection === connection) this.resign()
      })
      this.connection = connection
    }
    return this.connection
  }

  /** Ending the connection gives the lock up (PostgreSQL releases a session's locks with it). */
  private resign() {
    this.connection = undefined
    this.leading = undefined
    this.isLeader = false
  }

  private async disconnect() {
    const connecting = this.connection
    this.resign()
    const connection = await connecting?.catch(() => undefined)
    await connection?.end().catch(() => undefined)
  }

  /** Sent rows past the retention; then the table vacuumed, once it holds VACUUM_AFTER_DEAD_ROWS dead rows. */
  async purge() {
    const { db, retentionHours, logger } = this.options
    try {
      const purged = await purgeInBatches(db, 'outbox', 'sent_at < now() - make_interval(secs => ?)', [retentionHours * 3600])
      if (purged > 0) logger.info({ purged }, 'purged sent outbox rows')
      await vacuumWhenDead(db, 'outbox')
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'outbox purge failed')
    }
  }
}
