import type { EventHandler } from '@marketmesh/events'
import type { ServiceApplication } from '@marketmesh/shared'
import { lockCheckoutOrders, reject } from '../orders/order'

/** The catalog could not reserve the stock: the order is rejected with its reasons (orders/order.ts `reject`). */
export const rejectOrder =
  (app: ServiceApplication): EventHandler<'stock.rejected'> =>
  async (event, { trx }) => {
    const { orderId, checkoutId, reasons } = event.data
    // All the checkout's orders, in the order every path locks them: its payment comes next.
    const order = (await lockCheckoutOrders(trx, checkoutId)).find(({ id }) => id === orderId)
    if (order) {
      const reason = reasons.map((line) => `${line.productId}: ${line.reason}`).join('; ')
      await reject(app, trx, order, reason, { correlationId: event.correlationId, causationId: event.id })
    }
  }
