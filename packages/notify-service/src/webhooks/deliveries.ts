import { EventEmitter } from 'node:events'
import { randomUUID } from 'node:crypto'
import { Conflict, NotFound, TooManyRequests } from '@feathersjs/errors'
import { afterCommit, currentTraceparent } from '@marketmesh/events'
import { type Knex, type Principal } from '@marketmesh/shared'
import { ownEndpoint } from './endpoints'
import { isWebhookType, PING, subscribes } from './event-patterns'

/** Something that happened, as a webhook tells it; `sellerId`: the shop it belongs to (none: the platform's alone). */
export interface WebhookSource {
  type: string
  data: Record<string, unknown>
  sellerId?: string | null
  /** Its place in notify-service's log: the `version` of events whose aggregate carries none. */
  sequence?: number
  occurredAt?: string
}

export const webhookDeliveryStatuses = ['pending', 'succeeded', 'failed'] as const
export type WebhookDeliveryStatus = (typeof webhookDeliveryStatuses)[number]

/**
 * Wakes this process's senders when a transaction that scheduled deliveries commits; other
 * instances find them at their next poll.
 */
export const deliveriesScheduled = new EventEmitter().setMaxListeners(0)

/**
 * The body, signed as is and sent the same on every attempt: `{type, timestamp, data}`, `data`
 * carrying the aggregate's id and `version` so a receiver can order what arrives.
 */
export const webhookBody = (source: WebhookSource) => {
  const version = typeof source.data.version === 'number' ? source.data.version : (source.sequence ?? 1)
  return JSON.stringify({ type: source.type, timestamp: source.occurredAt ?? new Date().toISOString(), data: { ...source.data, version } })
}

const insertDeliveries = async (trx: Knex.Transaction, rows: Array<{ endpointId: string; eventType: string; body: string }>) => {
  if (rows.length === 0) return []
  const traceparent = currentTraceparent()
  const inserted: Array<{ id: string }> = await trx('webhook_deliveries')
    .insert(rows.map((row) => ({ id: randomUUID(), ...row, traceparent })))
    .returning('id')
  afterCommit(trx, () => deliveriesScheduled.emit('due'))
  return inserted.map(({ id }) => id)
}

/** An enabled endpoint, as scheduling needs it. */
export interface WebhookEndpointRow {
  id: string
  sellerId: string | null
  events: string[]
}

/** The enabled endpoints that may get the events of the shops `?` (a uuid[]): theirs and every admin's. */
export const ENABLED_ENDPOINTS = `SELECT id, "sellerId", events FROM webhook_endpoints WHERE status = 'enabled' AND ("sellerId" IS NULL OR "sellerId" = ANY(?::uuid[]))`

/** Whether any endpoint could get one of `sources` (`wanted`), and the shops to look up endpoints of. */
export const endpointLookup = (sources: WebhookSource[]) => {
  const relevant = sources.filter((source) => source.type !== PING && isWebhookType(source.type))
  const sellerIds = [...new Set(relevant.map((source) => source.sellerId).filter((id): id is string => Boolean(id)))]
  return { wanted: relevant.length > 0, sellerIds }
}

/** Writes a delivery, in `trx`, to each of `endpoints` (ENABLED_ENDPOINTS of the sources' shops) subscribed to each source. */
export const insertWebhookDeliveries = async (trx: Knex.Transaction, sources: WebhookSource[], endpoints: WebhookEndpointRow[]) => {
  const rows = sources
    .filter((source) => source.type !== PING && isWebhookType(source.type))
    .flatMap((source) => {
      const body = webhookBody(source)
      return endpoints
        .filter((endpoint) => (endpoint.sellerId === null || endpoint.sellerId === source.sellerId) && subscribes(endpoint.events, source.type))
        .map((endpoint) => ({ endpointId: endpoint.id, eventType: source.type, body }))
    })
  await insertDeliveries(trx, rows)
}

/**
 * Writes a delivery, in `trx`, for every enabled endpoint subscribed to each source: its shop's
 * seller's endpoints and every admin's. Written in the transaction that records what happened,
 * so a delivery exists if and only if that committed; the sender sends it after commit. (The
 * log's appends look the endpoints up in their own statement: log/append.ts.)
 */
export const scheduleWebhookDeliveries = async (trx: Knex.Transaction, sources: WebhookSource[]) => {
  const { wanted, sellerIds } = endpointLookup(sources)
  if (!wanted) return
  const { rows: endpoints } = await trx.raw<{ rows: WebhookEndpointRow[] }>(ENABLED_ENDPOINTS, [sellerIds])
  if (endpoints.length > 0) await insertWebhookDeliveries(trx, sources, endpoints)
}

/** Pings not yet answered, per endpoint: more are refused, so the test route sends no flood anywhere. */
export const MAX_PENDING_PINGS = 3

/** `POST /webhook-endpoints/:id/test`: a `ping` to the caller's endpoint, whatever it subscribed to. */
export const schedulePing = async (trx: Knex.Transaction, principal: Principal, endpointId: string) => {
  const endpoint = await ownEndpoint(trx, principal, endpointId, { lock: true })
  if (endpoint.status !== 'enabled') throw new Conflict(`Webhook endpoint '${endpointId}' is disabled: enable it first`)
  const [{ pending }] = await trx('webhook_deliveries').where({ endpointId, eventType: PING, status: 'pending' }).count({ pending: '*' })
  if (Number(pending) >= MAX_PENDING_PINGS)
    throw new TooManyRequests(`${MAX_PENDING_PINGS} pings to this endpoint are still on their way: wait for their answers`)
  const [id] = await insertDeliveries(trx, [{ endpointId, eventType: PING, body: webhookBody({ type: PING, data: { endpointId } }) }])
  return { id, eventType: PING, status: 'pending' as const, attempts: [] }
}

export interface DeliveryAttempt {
  at: string
  statusCode: number | null
  durationMs: number
  responseSnippet: string | null
  error: string | null
}

export interface WebhookDelivery {
  id: string
  eventType: string
  status: WebhookDeliveryStatus
  createdAt: string
  attempts: DeliveryAttempt[]
}

const ATTEMPTS = `COALESCE((SELECT json_agg(json_build_object('at', a.at, 'statusCode', a."statusCode", 'durationMs', a."durationMs",
  'responseSnippet', a."responseSnippet", 'error', a.error) ORDER BY a.at) FROM webhook_attempts a WHERE a."deliveryId" = d.id), '[]'::json) AS attempts`

const deliveryView = (row: Record<string, any>): WebhookDelivery => ({
  id: row.id,
  eventType: row.eventType,
  status: row.status,
  createdAt: new Date(row.createdAt).toISOString(),
  attempts: row.attempts
})

/** The deliveries to the caller's endpoint, newest first, of one status if asked. */
export const listDeliveries = async (
  db: Knex,
  principal: Principal,
  endpointId: string,
  { status, limit, skip }: { status?: WebhookDeliveryStatus; limit: number; skip: number }
) => {
  await ownEndpoint(db, principal, endpointId)
  const filtered = db('webhook_deliveries as d').where({ 'd.endpointId': endpointId, ...(status && { 'd.status': status }) })
  const [{ total }] = await filtered.clone().count({ total: '*' })
  const rows = await filtered
    .clone()
    .select('d.id', 'd.eventType', 'd.status', 'd.createdAt', db.raw(ATTEMPTS))
    .orderBy([
      { column: 'd.createdAt', order: 'desc' },
      { column: 'd.id', order: 'desc' }
    ])
    .limit(limit)
    .offset(skip)
  return { total: Number(total), limit, skip, data: rows.map(deliveryView) }
}

/** Sends a failed delivery once more, now, with its id (so a receiver that had it after all skips it). */
export const retryDelivery = async (trx: Knex.Transaction, principal: Principal, endpointId: string, deliveryId: string) => {
  const endpoint = await ownEndpoint(trx, principal, endpointId)
  const delivery = await trx('webhook_deliveries').forUpdate().first('id', 'status').where({ id: deliveryId, endpointId })
  if (!delivery) throw new NotFound(`No delivery '${deliveryId}' to webhook endpoint '${endpointId}'`)
  if (endpoint.status !== 'enabled') throw new Conflict(`Webhook endpoint '${endpointId}' is disabled: enable it first`)
  // A pending one is on its way; a succeeded one was answered 2xx and is not sent again.
  if (delivery.status !== 'failed') throw new Conflict(`Delivery '${deliveryId}' is ${delivery.status}: only failed ones are retried`)
  await requeueFailed(trx, [deliveryId])
  return { id: deliveryId, status: 'pending' as const }
}

/** Failed deliveries due again now, each for one more attempt (the CLI's retry too). */
export const requeueFailed = async (trx: Knex.Transaction, deliveryIds: string[]) => {
  const requeued: Array<{ id: string }> = await trx('webhook_deliveries')
    .whereIn('id', deliveryIds)
    .andWhere({ status: 'failed' })
    .update({ status: 'pending', runAfter: trx.fn.now(), finishedAt: null })
    .returning('id')
  if (requeued.length > 0) afterCommit(trx, () => deliveriesScheduled.emit('due'))
  return requeued.map(({ id }) => id)
}
