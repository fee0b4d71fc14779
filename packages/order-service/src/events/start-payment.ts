import type { EventHandler } from '@marketmesh/events'
import type { ServiceApplication } from '@marketmesh/shared'
import { lockCheckoutOrders, reserve } from '../orders/order'

/** The catalog reserved the stock: the order's payment starts (orders/order.ts `reserve`). */
export const startPayment =
  (app: ServiceApplication): EventHandler<'stock.reserved'> =>
  async (event, { trx }) => {
    const { orderId, checkoutId } = event.data
    // All the checkout's orders, in the order every path locks them: its payment comes next.
    const order = (await lockCheckoutOrders(trx, checkoutId)).find(({ id }) => id === orderId)
    if (order) await reserve(app, trx, order, { correlationId: event.correlationId, causationId: event.id })
  }
