import type { EventHandler } from '@marketmesh/shared'
import { changeStatus, lockOrder, SYSTEM } from '../orders/status'

/** The catalog could not reserve the stock: the order is rejected with its reasons, once, if it is still pending. */
export const rejectOrder: EventHandler<'stock.rejected'> = async (event, { trx, emit }) => {
  const { orderId, reasons } = event.data
  const order = await lockOrder(trx, orderId)
  if (!order || order.status !== 'pending' || order.paymentStartedAt) return
  const reason = reasons.map((line) => `${line.productId}: ${line.reason}`).join('; ')
  await changeStatus(trx, order, 'rejected', { by: SYSTEM, reason })
  await emit('order.rejected', { orderId, buyerId: order.buyerId, sellerId: order.sellerId, reason })
}
