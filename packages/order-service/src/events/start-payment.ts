import type { EventHandler } from '@marketmesh/shared'
import { lockOrder } from '../orders/status'
import { CHARGE } from '../payments/charge'

/**
 * The catalog reserved the stock, at the unit prices the buyer was quoted (it rejects the order
 * with `price_changed` otherwise): the order keeps its quoted total, the most it is ever charged,
 * and its payment is scheduled (authorize and capture happen after commit, once, see
 * payments/charge.ts).
 */
export const startPayment: EventHandler<'stock.reserved'> = async (event, { trx, schedule }) => {
  const { orderId } = event.data
  const order = await lockOrder(trx, orderId)
  if (!order || order.status !== 'pending' || order.paymentStartedAt) return
  await trx('orders').where({ id: orderId }).update({ paymentStartedAt: trx.fn.now(), updatedAt: trx.fn.now() })
  await schedule(CHARGE, `${orderId}`, { orderId, correlationId: event.correlationId, causationId: event.id })
}
