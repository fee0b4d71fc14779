import type { EventData, EventEnvelope, EventHandler } from '@marketmesh/events'
import { appendNotification, type AlongsideWrite, type NewNotification } from '../log/append'

type OrderEvent =
  'order.created' | 'order.paid' | 'order.rejected' | 'order.cancelled' | 'order.shipped' | 'order.delivered' | 'order.completed' | 'order.refunded'

const KEEP_CONVERSATION_ORDER = `INSERT INTO conversation_orders ("orderId", "buyerId", "sellerId") VALUES (?::uuid, ?::uuid, ?::uuid) ON CONFLICT ("orderId") DO NOTHING`

/** An order event's notification, for its buyer and its shop. */
export const orderNotification = (event: EventEnvelope<OrderEvent>): NewNotification => ({
  type: event.type,
  data: event.data,
  audience: { userId: event.data.buyerId, sellerId: event.data.sellerId },
  eventId: event.id
})

/** Whichever of its events comes first: who may talk about the order (written alongside its notification). */
export const keepConversationOrder = ({ orderId, buyerId, sellerId }: EventData<OrderEvent>): AlongsideWrite => ({
  sql: KEEP_CONVERSATION_ORDER,
  bindings: [orderId, buyerId, sellerId]
})

/**
 * Every order event becomes one notification for its buyer and its shop. The log records what
 * happened, each event once (the backbone's dedupe), so the order they arrive in changes nothing.
 * The order's buyer and shop are kept for its conversations.
 */
export const notifyOrder: EventHandler<OrderEvent> = async (event, { trx }) => {
  await appendNotification(trx, orderNotification(event), [keepConversationOrder(event.data)])
}
