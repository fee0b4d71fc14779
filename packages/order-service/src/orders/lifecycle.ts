import { Conflict, Forbidden, NotFound } from '@feathersjs/errors'
import { durationMs, type Knex, type Principal, type ServiceApplication } from '@marketmesh/shared'
import { leftToRefund, requestRefund } from '../payments/refund'
import type { OrderStatus } from '../services/orders/orders.schema'
import { changeStatus, lockOrder, SYSTEM, type OrderRow } from './status'
import { AUTO_DELIVER, RELEASE_ESCROW } from './timers'

export type Transition = 'shipped' | 'delivered' | 'cancelled'

/** Who may take each step, and from which status (an admin may take any legal step). */
const RULES: Record<Transition, { from: OrderStatus[]; by: Array<Principal['role']> }> = {
  shipped: { from: ['paid'], by: ['seller', 'admin'] },
  delivered: { from: ['shipped'], by: ['buyer', 'admin'] },
  cancelled: { from: ['pending', 'paid'], by: ['buyer', 'seller', 'admin'] }
}

const canSee = (principal: Principal, order: OrderRow) =>
  principal.role === 'admin' ||
  (principal.role === 'buyer' && order.buyerId === principal.id) ||
  (principal.role === 'seller' && order.sellerId === principal.sellerId)

const refOf = (order: OrderRow) => ({ orderId: order.id, buyerId: order.buyerId, sellerId: order.sellerId })

/** The order's status changed by a person, through PATCH /orders/:id; the order is locked for it. */
export const changeOrderByRequest = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  orderId: string,
  change: { status: Transition; trackingNumber?: string },
  principal: Principal
) => {
  const order = await lockOrder(trx, orderId)
  if (!order || !canSee(principal, order)) throw new NotFound(`No record found for id '${orderId}'`)
  const rule = RULES[change.status]
  if (!rule.by.includes(principal.role))
    throw new Forbidden(`Only the order's ${rule.by.filter((role) => role !== 'admin').join(' or ')} may mark it ${change.status}`)
  if (!rule.from.includes(order.status)) throw new Conflict(`Order ${orderId} is ${order.status}: it cannot become ${change.status}`)
  if (change.status === 'cancelled' && order.status === 'pending' && order.paymentStartedAt) {
    throw new Conflict(`Order ${orderId} is pending with its payment in progress: cancel it once it is paid`)
  }
  // Its money is on its way back (the refund's order.refunded will give the stock back): the goods stay.
  if (change.status === 'shipped' && order.paymentId && (await leftToRefund(trx, order)) <= 0) {
    throw new Conflict(`Order ${orderId} is refunded in full: it cannot become shipped`)
  }
  const by = principal.id
  if (change.status === 'shipped') await ship(app, trx, order, by, change.trackingNumber)
  else if (change.status === 'delivered') await deliver(app, trx, order, by)
  else await cancel(app, trx, order, by, `cancelled_by_${principal.role}`)
}

export const ship = async (app: ServiceApplication, trx: Knex.Transaction, order: OrderRow, by: string, trackingNumber?: string) => {
  await changeStatus(trx, order, 'shipped', { by, changes: trackingNumber ? { trackingNumber } : {} })
  await app.get('events').emit(trx, 'order.shipped', refOf(order))
  await app.get('events').effects.schedule(trx, AUTO_DELIVER, order.id, { orderId: order.id }, { delayMs: durationMs(app.get('autoDeliverAfter')) })
}

export const deliver = async (app: ServiceApplication, trx: Knex.Transaction, order: OrderRow, by: string) => {
  await changeStatus(trx, order, 'delivered', { by })
  const productIds: string[] = await trx('order_lines').where({ orderId: order.id }).pluck('productId')
  await app.get('events').emit(trx, 'order.delivered', { ...refOf(order), productIds })
  await app
    .get('events')
    .effects.schedule(trx, RELEASE_ESCROW, order.id, { orderId: order.id }, { delayMs: durationMs(app.get('escrowReleaseAfter')) })
}

/** Cancelled before shipping: a paid order is refunded in full (the catalog gives the stock back on either event). */
export const cancel = async (app: ServiceApplication, trx: Knex.Transaction, order: OrderRow, by: string, reason: string) => {
  const wasPaid = order.status === 'paid'
  await changeStatus(trx, order, 'cancelled', { by, reason })
  await app.get('events').emit(trx, 'order.cancelled', { ...refOf(order), reason })
  if (wasPaid) await requestRefund(app, trx, order, { reason, by })
}

export { SYSTEM }
