import type { EventHandler } from '@marketmesh/events'
import type { ServiceApplication } from '@marketmesh/shared'
import { lockOrder, reserve } from '../orders/order'

/** The catalog reserved the stock at the quoted prices: the order's payment starts (orders/order.ts `reserve`). */
export const startPayment =
  (app: ServiceApplication): EventHandler<'stock.reserved'> =>
  async (event, { trx }) => {
    const order = await lockOrder(trx, event.data.orderId)
    if (order) await reserve(app, trx, order, { correlationId: event.correlationId, causationId: event.id })
  }
