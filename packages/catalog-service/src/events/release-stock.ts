import { lockAggregate, placeTombstone, type EventHandler } from '@marketmesh/shared'

/**
 * An order that ends without being fulfilled gives its stock back. Marking the reservations
 * released and giving back only what this statement marked makes the release happen once,
 * whichever of order.cancelled / order.rejected / order.refunded arrives, and however often.
 * The order's tombstone makes an order.created handled after it reserve nothing.
 */
export const releaseStock: EventHandler<'order.cancelled' | 'order.rejected' | 'order.refunded'> = async (event, { trx, emit }) => {
  const { orderId } = event.data
  await lockAggregate(trx, 'order', orderId)
  await placeTombstone(trx, 'order', orderId, event)
  const released: Array<{ productId: string; quantity: number }> = await trx('reservations')
    .where({ orderId, releasedAt: null })
    .update({ releasedAt: trx.fn.now() })
    .returning(['productId', 'quantity'])
  if (released.length === 0) return
  released.sort((a, b) => (a.productId < b.productId ? -1 : 1))
  for (const { productId, quantity } of released) {
    // A seller's absolute stock write read before this must not apply (its version check fails).
    await trx('products')
      .where('id', productId)
      .update({ stock: trx.raw('stock + ?', [quantity]), version: trx.raw('version + 1') })
  }
  await emit('stock.released', { orderId, lines: released })
}
