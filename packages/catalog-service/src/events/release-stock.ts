import { aggregateKey, lockAggregate, lockAggregates, placeTombstone, type EventHandler } from '@marketmesh/events'

/**
 * An order that ends without its goods shipped gives its stock back. Marking the reservations
 * released and giving back only what this statement marked makes the release happen once,
 * whichever of order.cancelled / order.rejected / a restocking order.refunded arrives, and
 * however often. The order's tombstone makes an order.created handled after it reserve nothing.
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
  // The products' locks, as a batch of reservations declares them (reserve-stock.ts), before their rows.
  await lockAggregates(
    trx,
    released.map(({ productId }) => aggregateKey('product', productId))
  )
  for (const { productId, quantity } of released) {
    // A seller's absolute stock write read before this must not apply (its version check fails).
    await trx('products')
      .where('id', productId)
      .update({ stock: trx.raw('stock + ?', [quantity]), version: trx.raw('version + 1') })
  }
  await emit('stock.released', { orderId, lines: released })
}

/**
 * A refund is money only (the goods were shipped, or the order stays open to ship), unless it
 * says `restock`: it completed the full refund of an order that never shipped.
 */
export const releaseRefundedStock: EventHandler<'order.refunded'> = async (event, context) => {
  if (event.data.restock === true) await releaseStock(event, context)
}
