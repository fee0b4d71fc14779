import type { EventHandler } from '@marketmesh/events'
import type { ServiceApplication } from '@marketmesh/shared'
import { lockCheckout, reserve } from '../orders/order'

/** The catalog reserved the stock: the order's payment starts (orders/order.ts `reserve`). */
export const startPayment =
  (app: ServiceApplication): EventHandler<'stock.reserved'> =>
  async (event, { trx }) => {
    const { orderId, checkoutId } = event.data
    // All the checkout's orders and its payment, in the order every path locks them.
    const checkout = await lockCheckout(trx, checkoutId)
    const order = checkout.orders.find(({ id }) => id === orderId)
    if (order) await reserve(app, trx, checkout, order, { correlationId: event.correlationId, causationId: event.id })
  }
