import type { EventHandler } from '@marketmesh/shared'
import { lockOrder } from '../orders/status'
import { CHARGE } from '../payments/charge'

/**
 * The catalog reserved the stock, at its own unit prices: the order takes them and the payment
 * is scheduled (authorize and capture happen after commit, once, see payments/charge.ts).
 */
export const startPayment: EventHandler<'stock.reserved'> = async (event, { trx, schedule }) => {
  const { orderId, lines } = event.data
  const order = await lockOrder(trx, orderId)
  if (!order || order.status !== 'pending' || order.paymentStartedAt) return
  for (const { productId, unitPrice } of lines) {
    await trx('order_lines').where({ orderId, productId }).update({ unitPrice })
  }
  const [{ total }] = await trx('order_lines').where({ orderId }).select(trx.raw('sum(quantity * "unitPrice")::int AS total'))
  await trx('orders').where({ id: orderId }).update({ total, paymentStartedAt: trx.fn.now(), updatedAt: trx.fn.now() })
  await schedule(CHARGE, `${orderId}`, { orderId, correlationId: event.correlationId, causationId: event.id })
}
