import type { Knex } from '@marketmesh/shared'
import type { OrderStatus } from '../services/orders/orders.schema'

export interface OrderRow {
  id: string
  checkoutId: string
  buyerId: string
  sellerId: string
  status: OrderStatus
  total: number
  currency: string
  buyerName: string
  shopName: string | null
  paymentId: string | null
  paymentStartedAt: Date | null
  createdAt: Date
}

/**
 * The order, with every other handler, timer and request for it waiting until `trx` ends: the
 * one way the saga, the timers and the API read an order they are about to change.
 */
export const lockOrder = (trx: Knex.Transaction, orderId: string): Promise<OrderRow | undefined> =>
  // The row lock, unlike an advisory one taken before the read, gives the read the row as the
  // last holder committed it, in one round trip; NO KEY leaves the inserts referencing the order free.
  trx('orders').where({ id: orderId }).forNoKeyUpdate().first()

/** Moves the order to `to` and writes the step to its timeline, in one statement. */
export const changeStatus = async (
  trx: Knex.Transaction,
  order: OrderRow,
  to: OrderStatus,
  step: { by: string; reason?: string; changes?: Record<string, unknown> }
) => {
  const moved = trx('orders')
    .where({ id: order.id })
    .update({ status: to, updatedAt: trx.fn.now(), ...(step.reason ? { reason: step.reason } : {}), ...step.changes })
  await trx
    .with('moved', moved)
    .insert({ orderId: order.id, from: order.status, to, by: step.by, reason: step.reason ?? null })
    .into('order_timeline')
  order.status = to
}

/** Who a step is by when no person took it: the saga and the timers. */
export const SYSTEM = 'system'
