import type { ChannelModel } from 'amqplib'
import pg from 'pg'
import { consumerQueueNames } from '@marketmesh/shared/ops'
import { describeDeadLetter, type LetterFacts } from './dead-letter'
import { scanQueue } from './dead-letter-scan'
import { SERVICES, type Service } from './services'

/** The whole life of one order across the mesh, as `marketmesh order <id>` shows it. */
export interface OrderLife {
  order: Record<string, unknown>
  lines: Array<Record<string, unknown>>
  timeline: Array<{ at: string; from: string | null; to: string; by: string; reason: string | null }>
  /** Every event about the order in any service's outbox, in the order written, and which consumers handled it (their dedupe rows). */
  events: Array<{
    service: string
    id: string
    type: string
    createdAt: string
    sentAt: string | null
    handledBy: Array<{ consumer: string; at: string }>
  }>
  sideEffects: Array<{
    service: string
    kind: string
    key: string
    status: string
    attempts: number
    lastError: string | null
    finishedAt: string | null
  }>
  /** The checkout's one payment (authorized once, captured once for the reserved orders), refunds, and the seller's payouts. */
  payment: Record<string, unknown> | undefined
  refunds: Array<Record<string, unknown>>
  payouts: Array<Record<string, unknown>>
  printJobs: Array<Record<string, unknown>>
  mails: Array<{ messageId: string; template: string; status: string; sentAt: string | null }>
  deadLetters: Array<LetterFacts & { queue: string }>
}

const CONNECT_TIMEOUT_MS = 5_000

/** Runs `read` in a READ ONLY transaction of one service's database: the command never changes anything. */
const readOnly = async <T>(url: string, read: (client: pg.Client) => Promise<T>): Promise<T> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'marketmesh cli' })
  client.on('error', () => {})
  await client.connect()
  try {
    await client.query('BEGIN READ ONLY')
    return await read(client)
  } finally {
    await client.query('ROLLBACK').catch(() => {})
    await client.end().catch(() => {})
  }
}

const rowsOf = async <T>(client: pg.Client, sql: string, parameters: unknown[]) => (await client.query(sql, parameters)).rows as T[]

// The order's id is a uuid: a text match on the event or payload finds every row that names it.
// In the order written (`outbox.id`: `id` alone would be the event's uuid).
const EVENTS = `SELECT event_id AS id, type, created_at AS "createdAt", sent_at AS "sentAt" FROM outbox WHERE envelope::text LIKE '%' || $1 || '%' ORDER BY outbox.id`
const HANDLED = `SELECT event_id AS "eventId", consumer, processed_at AS at FROM processed_events WHERE event_id = ANY($1::uuid[])`
// A side effect names the order in its key or payload, or is keyed by what it acts on ($2), alone or
// before a colon: the checkout's payment (one for all the checkout's orders; other effects carry the
// checkout's id in their payload too, e.g. the mails of the checkout's other orders: not matched by
// it), the order's refunds, its payouts' transfers and reversals, its print jobs' confirmation timers.
const SIDE_EFFECTS = `
  SELECT id, kind, key, status, attempts, last_error AS "lastError", finished_at AS "finishedAt", payload
    FROM side_effects
   WHERE key LIKE $1 || '%' OR payload::text LIKE '%' || $1 || '%' OR split_part(key, ':', 1) = ANY($2::text[])
   ORDER BY created_at`

/**
 * Reads the order's life from every service's database (read-only) and its dead letters from
 * every consumer's dead-letter queue (left where they are). Undefined when order-service does
 * not know the order.
 */
export const readOrderLife = async (
  orderId: string,
  databaseUrl: (service: Service) => string,
  broker: { connection: ChannelModel; prefix: string }
): Promise<OrderLife | undefined> => {
  const byName = Object.fromEntries(SERVICES.map((service) => [service.name, service])) as Record<Service['name'], Service>
  const order = await readOnly(databaseUrl(byName['order-service']), async (client) => {
    const [row] = await rowsOf<Record<string, unknown>>(client, 'SELECT * FROM orders WHERE id = $1', [orderId])
    if (!row) return undefined
    return {
      order: row,
      lines: await rowsOf<Record<string, unknown>>(
        client,
        'SELECT "productId", title, quantity, "unitPrice" FROM order_lines WHERE "orderId" = $1 ORDER BY "productId"',
        [orderId]
      ),
      timeline: await rowsOf<OrderLife['timeline'][number]>(
        client,
        'SELECT at, "from", "to", by, reason FROM order_timeline WHERE "orderId" = $1 ORDER BY id',
        [orderId]
      ),
      payment: (await rowsOf<Record<string, unknown>>(client, 'SELECT * FROM payments WHERE "checkoutId" = $1', [row.checkoutId]))[0],
      refunds: await rowsOf<Record<string, unknown>>(client, 'SELECT * FROM refunds WHERE "orderId" = $1 ORDER BY "createdAt"', [orderId]),
      payouts: await rowsOf<Record<string, unknown>>(client, 'SELECT * FROM payouts WHERE "orderId" = $1 ORDER BY "createdAt"', [orderId])
    }
  })
  if (!order) return undefined

  const printJobs = await readOnly(databaseUrl(byName['notify-service']), (client) =>
    rowsOf<Record<string, unknown>>(
      client,
      'SELECT id, copy, status, "deviceId", transport, error, "createdAt", "claimedAt", "finishedAt" FROM print_jobs WHERE "orderId" = $1 ORDER BY "createdAt"',
      [orderId]
    )
  )
  const effectSubjects = [order.order.checkoutId, ...[...order.refunds, ...order.payouts, ...printJobs].map(({ id }) => id)]

  const perService = await Promise.all(
    SERVICES.map((service) =>
      readOnly(databaseUrl(service), async (client) => ({
        service: service.name,
        events: await rowsOf<{ id: string; type: string; createdAt: string; sentAt: string | null }>(client, EVENTS, [orderId]),
        sideEffects: await rowsOf<OrderLife['sideEffects'][number] & { id: string; payload: { template?: string } }>(client, SIDE_EFFECTS, [
          orderId,
          effectSubjects
        ])
      }))
    )
  )
  const eventIds = perService.flatMap(({ events }) => events.map(({ id }) => id))
  // Each consumer records the events it handled in its own database.
  const handled = (
    await Promise.all(
      SERVICES.map((service) =>
        readOnly(databaseUrl(service), (client) => rowsOf<{ eventId: string; consumer: string; at: string }>(client, HANDLED, [eventIds]))
      )
    )
  ).flat()

  const deadLetters: OrderLife['deadLetters'] = []
  for (const service of SERVICES) {
    const queue = consumerQueueNames(broker.prefix, service.name).deadLetterQueue
    await scanQueue(broker.connection, queue, {
      visit: (message) => {
        if (message.content.toString('utf8').includes(orderId)) {
          const { body: _body, ...facts } = describeDeadLetter(message)
          deadLetters.push({ ...facts, queue })
        }
        return 'next'
      }
    })
  }

  const notifyEffects = perService.find(({ service }) => service === 'notify-service')!.sideEffects
  return {
    ...order,
    events: perService
      .flatMap(({ service, events }) =>
        events.map((event) => ({
          service,
          ...event,
          handledBy: handled.filter(({ eventId }) => eventId === event.id).map(({ consumer, at }) => ({ consumer, at }))
        }))
      )
      // One timeline across the services' outboxes (each in its own order already: ties keep it).
      .sort((a, b) => new Date(a.createdAt).getTime() - new Date(b.createdAt).getTime()),
    sideEffects: perService.flatMap(({ service, sideEffects }) =>
      sideEffects.map(({ kind, key, status, attempts, lastError, finishedAt }) => ({ service, kind, key, status, attempts, lastError, finishedAt }))
    ),
    printJobs,
    mails: notifyEffects
      .filter(({ kind }) => kind === 'mail')
      .map(({ id, payload, status, finishedAt }) => ({
        // notify-service sends each mail with its side effect's id as Message-ID.
        messageId: `<${id}@notify.marketmesh>`,
        template: payload.template ?? '?',
        status: status === 'done' ? 'sent' : status,
        sentAt: status === 'done' ? finishedAt : null
      })),
    deadLetters
  }
}
