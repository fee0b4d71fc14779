import type { EventHandler } from '@marketmesh/events'
import { appendNotification } from '../log/append'

type OrderEvent =
  'order.created' | 'order.paid' | 'order.rejected' | 'order.cancelled' | 'order.shipped' | 'order.delivered' | 'order.completed' | 'order.refunded'

/**
 * Every order event becomes one notification for its buyer and its shop. The log records what
 * happened, each event once (the backbone's dedupe), so the order they arrive in changes nothing.
 * The order's buyer and shop are kept for its conversations.
 */
export const notifyOrder: EventHandler<OrderEvent> = async (event, { trx }) => {
  const { buyerId, sellerId } = event.data
  await appendNotification(trx, { type: event.type, data: event.data, audience: { userId: buyerId, sellerId }, eventId: event.id })
  // Whichever of its events comes first: who may talk about the order.
  await trx('conversation_orders').insert({ orderId: event.data.orderId, buyerId, sellerId }).onConflict('orderId').ignore()
}
