import type { EventHandler } from '@marketmesh/events'
import type { ServiceApplication } from '@marketmesh/shared'
import { lockCheckout, reject } from '../orders/order'

/** The catalog could not reserve the stock: the order is rejected with its reasons (orders/order.ts `reject`). */
export const rejectOrder =
  (app: ServiceApplication): EventHandler<'stock.rejected'> =>
  async (event, { trx }) => {
    const { orderId, checkoutId, reasons } = event.data
    // All the checkout's orders and its payment, in the order every path locks them.
    const checkout = await lockCheckout(trx, checkoutId)
    const order = checkout.orders.find(({ id }) => id === orderId)
    if (order) {
      const reason = reasons.map((line) => `${line.productId}: ${line.reason}`).join('; ')
      await reject(app, trx, checkout, order, reason, { correlationId: event.correlationId, causationId: event.id })
    }
  }
