import type { EventHandler } from '@marketmesh/events'
import { scheduleWebhookDeliveries } from '../webhooks/deliveries'

type ProductEvent = Parameters<EventHandler<'product.created' | 'product.updated' | 'product.deleted'>>[0]

/**
 * Product events are not notifications (no stream shows them). notify-service keeps what
 * conversations need of a product, and delivers the event to the webhooks subscribed to it (the
 * shop's seller's and admins'; its `version` orders them).
 */
const deliverToWebhooks = (event: ProductEvent, trx: Parameters<EventHandler<'product.created'>>[1]['trx']) =>
  scheduleWebhookDeliveries(trx, [{ type: event.type, data: event.data, sellerId: event.data.sellerId, occurredAt: event.occurredAt }])

/** What conversations need of a product (its shop and title), at its newest version. */
export const keepProduct: EventHandler<'product.created' | 'product.updated'> = async (event, { trx }) => {
  const { productId, sellerId, title, version } = event.data
  await trx('conversation_products')
    .insert({ productId, sellerId, title, version, deleted: false })
    .onConflict('productId')
    .merge()
    .whereRaw('conversation_products.version < excluded.version')
  await deliverToWebhooks(event, trx)
}

/** A deleted product takes no new conversations; those about it stay. A late update does not bring it back. */
export const deleteProduct: EventHandler<'product.deleted'> = async (event, { trx }) => {
  const { productId, sellerId, version } = event.data
  await trx('conversation_products')
    .insert({ productId, sellerId, version, deleted: true })
    .onConflict('productId')
    .merge({ deleted: true, version: trx.raw('greatest(conversation_products.version, excluded.version)') })
  await deliverToWebhooks(event, trx)
}
