import type { EventHandler } from '@marketmesh/shared'
import { scheduleWebhookDeliveries } from '../webhooks/deliveries'

/**
 * Product events are not notifications (no stream shows them); notify-service consumes them only
 * for the webhooks subscribed to them: the shop's seller's and admins'. Their `version` orders them.
 */
export const deliverProductEvent: EventHandler<'product.created' | 'product.updated' | 'product.deleted'> = async (event, { trx }) => {
  await scheduleWebhookDeliveries(trx, [{ type: event.type, data: event.data, sellerId: event.data.sellerId, occurredAt: event.occurredAt }])
}
