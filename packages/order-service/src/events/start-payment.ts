import type { EventHandler } from '@marketmesh/shared'
import { lockOrder } from '../orders/status'
import { CHARGE } from '../payments/charge'

/** The reserved unit prices on the order's lines, and its total from them, in one statement. */
const TAKE_PRICES = `
  WITH prices AS (SELECT * FROM unnest(?::uuid[], ?::int[]) AS price ("productId", "unitPrice")),
       priced AS (
         UPDATE order_lines SET "unitPrice" = prices."unitPrice"
           FROM prices
          WHERE order_lines."orderId" = ? AND order_lines."productId" = prices."productId")
  UPDATE orders
     SET total = (SELECT sum(line.quantity * coalesce(prices."unitPrice", line."unitPrice"))::int
                    FROM order_lines AS line LEFT JOIN prices USING ("productId")
                   WHERE line."orderId" = orders.id),
         "paymentStartedAt" = now(), "updatedAt" = now()
   WHERE id = ?`

/**
 * The catalog reserved the stock, at its own unit prices: the order takes them and the payment
 * is scheduled (authorize and capture happen after commit, once, see payments/charge.ts).
 */
export const startPayment: EventHandler<'stock.reserved'> = async (event, { trx, schedule }) => {
  const { orderId, lines } = event.data
  const order = await lockOrder(trx, orderId)
  if (!order || order.status !== 'pending' || order.paymentStartedAt) return
  await trx.raw(TAKE_PRICES, [lines.map((line) => line.productId), lines.map((line) => line.unitPrice), orderId, orderId])
  await schedule(CHARGE, `${orderId}`, { orderId, correlationId: event.correlationId, causationId: event.id })
}
