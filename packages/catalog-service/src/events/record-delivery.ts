import type { EventHandler } from '@marketmesh/events'

/** A delivered order lets its buyer review its products (see reviews). */
export const recordDelivery: EventHandler<'order.delivered'> = async (event, { trx }) => {
  const { orderId, buyerId, productIds } = event.data
  if (productIds.length === 0) return
  await trx('purchases')
    .insert([...new Set(productIds)].map((productId) => ({ orderId, productId, buyerId, deliveredAt: event.occurredAt })))
    .onConflict(['orderId', 'productId'])
    .ignore()
}
