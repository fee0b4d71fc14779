import { currentTraceparent } from '@marketmesh/events'
import type { Knex } from '@marketmesh/shared'
import { scheduleWebhookDeliveries } from '../webhooks/deliveries'

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
 * Appends to the log in `trx`. Ids come from a sequence, and two transactions could commit their
 * ids out of order (5 drawn first, 6 committed first): a reader past 6 would never see 5. So ids
 * are drawn under a transaction-level advisory lock, held to commit: the transaction that draws 6
 * waits until the one holding 5 has ended, and ids become visible in order. Readers then need
 * nothing but `id > lastSeen`. (The alternative, a per-row xid8 read only below
 * `pg_snapshot_xmin(pg_current_snapshot())`, orders rows by transaction id rather than by id,
 * so the SSE ids, which must increase, would not.) The price is that appending transactions take
 * turns from their first append to commit: a batch of events takes one turn, and its handlers
 * append before they take row locks, so two batches never wait for each other in opposite order.
 */
export const appendNotifications = async (trx: Knex.Transaction, notifications: NewNotification[]) => {
  if (notifications.length === 0) return []
  await lockLog(trx)
  // The span that appends (a handler's, a request's): the streams' delivery continues its trace.
  const traceparent = currentTraceparent()
  const rows = notifications.map(({ type, data, audience, eventId }) => ({
    type,
    data: JSON.stringify(data),
    userId: audience.userId ?? null,
    sellerId: audience.sellerId ?? null,
    everyone: audience.everyone ?? false,
    devices: audience.devices ?? false,
    eventId: eventId ?? null,
    traceparent
  }))
  const inserted: Array<{ id: string }> = await trx('notifications').insert(rows).returning('id')
  // What the log records goes to the webhooks subscribed to it, in the same transaction.
  await scheduleWebhookDeliveries(
    trx,
    notifications.map(({ type, data, audience }, index) => ({
      type,
      data: data as Record<string, unknown>,
      sellerId: audience.sellerId,
      sequence: Number(inserted[index].id)
    }))
  )
  // Delivered at commit, and only then: one per transaction tells the listeners all its appends.
  if (!notifying.has(trx)) {
    await trx.raw('SELECT pg_notify(?, ?)', [NOTIFICATIONS_CHANNEL, ''])
    notifying.add(trx)
  }
  return inserted.map(({ id }) => Number(id))
}

export const appendNotification = async (trx: Knex.Transaction, notification: NewNotification) => (await appendNotifications(trx, [notification]))[0]
