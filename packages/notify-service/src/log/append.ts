import { currentTraceparent } from '@marketmesh/events'
import type { Knex } from '@marketmesh/shared'
import { ENABLED_ENDPOINTS, endpointLookup, insertWebhookDeliveries, type WebhookEndpointRow } from '../webhooks/deliveries'

/** Who may see a notification besides admins (who see all). */
export interface Audience {
  /** A buyer's own, or the user an account event is about. */
  userId?: string
  /** A shop's: its seller (and, with `devices`, its appliances). */
  sellerId?: string
  everyone?: boolean
  /** For the shop's devices too (print jobs). */
  devices?: boolean
}

export interface NewNotification {
  type: string
  data: unknown
  audience: Audience
  eventId?: string
}

/** The channel each instance LISTENs on to read the log again (the log stays the source of truth). */
export const NOTIFICATIONS_CHANNEL = 'notifications'

// Key of the advisory lock under which ids are assigned.
const LOG_APPEND_LOCK = 0x6e6f7466

// What a transaction (or savepoint) has done once already: the lock is held, and one NOTIFY is enough.
const holdingLock = new WeakSet<Knex.Transaction>()
const notifying = new WeakSet<Knex.Transaction>()

/**
 * Takes the log's append lock in `trx` (held to commit) before an append: for a transaction that
 * must decide under it whether to append at all (one print job per order), or that takes row
 * locks after appending. A batch of events takes it once, however many of its handlers ask.
 */
export const lockLog = async (trx: Knex.Transaction) => {
  if (holdingLock.has(trx)) return
  await trx.raw('SELECT pg_advisory_xact_lock(?)', [LOG_APPEND_LOCK])
  holdingLock.add(trx)
}

/**
 * A write of the same cause as an append, made in the append's statement: a data-modifying
 * statement (`INSERT …`) with `?` bindings, run as a CTE of it. It may read the ids just appended
 * from `appended` (`SELECT max(id) FROM appended`: the last notification's).
 */
export interface AlongsideWrite {
  sql: string
  bindings: Knex.RawBinding[]
}

/** A knex raw statement (such as `scheduleAlongside`'s) as a write alongside an append. */
export const alongsideWrite = (statement: Knex.Raw): AlongsideWrite => {
  const { sql, bindings } = statement.toSQL()
  return { sql, bindings: [...bindings] }
}

// The whole append in one statement: the log's lock (taken before the first id is drawn: the
// insert's rows wait for it; taken again at no cost when held), the rows, the writes alongside,
// and in the same statement the webhook endpoints that may get the rows (none looked up when no
// endpoint could) and, once per transaction, the NOTIFY.
const appendStatement = (alongside: AlongsideWrite[]) => `
  WITH locked AS (SELECT pg_advisory_xact_lock(${LOG_APPEND_LOCK})),
  appended AS (
    INSERT INTO notifications (type, data, "userId", "sellerId", everyone, devices, "eventId", traceparent)
    SELECT type, data, "userId", "sellerId", everyone, devices, "eventId", ?::text
      FROM json_to_recordset(?::json)
        AS appending (type text, data jsonb, "userId" uuid, "sellerId" uuid, everyone boolean, devices boolean, "eventId" uuid)
     WHERE (SELECT count(*) FROM locked) = 1
    RETURNING id)${alongside.map(({ sql }, index) => `,\n  alongside_${index} AS (${sql})`).join('')}
  SELECT array(SELECT id FROM appended ORDER BY id) AS ids,
         (SELECT json_agg(endpoint) FROM (${ENABLED_ENDPOINTS}) endpoint WHERE ?::boolean) AS endpoints,
         CASE WHEN ?::boolean THEN pg_notify('${NOTIFICATIONS_CHANNEL}', '') END AS notified`
const APPEND = appendStatement([])

/**
 * Appends to the log in `trx`, in one statement. Ids come from a sequence, and two transactions
 * could commit their ids out of order (5 drawn first, 6 committed first): a reader past 6 would
 * never see 5. So ids are drawn under a transaction-level advisory lock, held to commit: the
 * transaction that draws 6 waits until the one holding 5 has ended, and ids become visible in
 * order. Readers then need nothing but `id > lastSeen`. (The alternative, a per-row xid8 read only below
 * `pg_snapshot_xmin(pg_current_snapshot())`, orders rows by transaction id rather than by id,
 * so the SSE ids, which must increase, would not.) The price is that appending transactions take
 * turns from their first append to commit: a batch of events takes one turn, and its handlers
 * append before they take row locks, so two batches never wait for each other in opposite order.
 * Returns the ids, in the order of `notifications`. `alongside`: writes of the same cause, in the same statement (with some notifications).
 */
export const appendNotifications = async (trx: Knex.Transaction, notifications: NewNotification[], alongside: AlongsideWrite[] = []) => {
  if (notifications.length === 0) return []
  const rows = notifications.map(({ type, data, audience, eventId }) => ({
    type,
    data,
    userId: audience.userId ?? null,
    sellerId: audience.sellerId ?? null,
    everyone: audience.everyone ?? false,
    devices: audience.devices ?? false,
    eventId: eventId ?? null
  }))
  // What the log records goes to the webhooks subscribed to it, in the same transaction.
  const sources = notifications.map(({ type, data, audience }) => ({ type, data: data as Record<string, unknown>, sellerId: audience.sellerId }))
  const lookup = endpointLookup(sources)
  // Delivered at commit, and only then: one per transaction tells the listeners all its appends.
  const notify = !notifying.has(trx)
  const {
    rows: [appended]
  } = await trx.raw<{ rows: Array<{ ids: string[]; endpoints: WebhookEndpointRow[] | null }> }>(
    alongside.length === 0 ? APPEND : appendStatement(alongside),
    [
      // The span that appends (a handler's, a request's): the streams' delivery continues its trace.
      currentTraceparent(),
      JSON.stringify(rows),
      ...alongside.flatMap(({ bindings }) => bindings),
      lookup.sellerIds,
      lookup.wanted,
      notify
    ]
  )
  if (notify) notifying.add(trx)
  holdingLock.add(trx)
  const ids = appended.ids.map(Number)
  if (appended.endpoints) {
    await insertWebhookDeliveries(
      trx,
      sources.map((source, index) => ({ ...source, sequence: ids[index] })),
      appended.endpoints
    )
  }
  return ids
}

export const appendNotification = async (trx: Knex.Transaction, notification: NewNotification, alongside: AlongsideWrite[] = []) =>
  (await appendNotifications(trx, [notification], alongside))[0]
