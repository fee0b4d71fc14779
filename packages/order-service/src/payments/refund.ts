import { randomUUID } from 'node:crypto'
import { Conflict } from '@feathersjs/errors'
import { invalidField, type Knex, runInTransaction, type ServiceApplication, type SideEffect } from '@marketmesh/shared'
import { refundToBuyer } from '../ledger/ledger'
import { changeStatus, lockOrder, SYSTEM, type OrderRow } from '../orders/status'
import type { Refund } from '../services/refunds/refunds.schema'
import { paymentProviders } from '.'

/** The side effect that returns money through the provider. */
export const REFUND = 'refund'

/** The sum of the order's refunds in `statuses`. */
const refundedSoFar = async (trx: Knex.Transaction, orderId: string, statuses: Array<Refund['status']>) => {
  const [{ sum }] = await trx('refunds').where({ orderId }).whereIn('status', statuses).select(trx.raw('coalesce(sum(amount), 0)::int AS sum'))
  return sum as number
}

/** What is left to refund of a paid order: its total less its refunds, paid back or still pending. */
export const leftToRefund = async (trx: Knex.Transaction, order: OrderRow) =>
  order.total - (await refundedSoFar(trx, order.id, ['pending', 'succeeded']))

/**
 * A refund of `amount` (all that is left when none is given), never more than was paid in all;
 * written in the order's transaction (the order locked) and carried out with the provider after.
 */
export const requestRefund = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  order: OrderRow,
  request: { amount?: number; reason: string; by: string }
): Promise<Refund> => {
  if (!order.paymentId) throw new Conflict(`Order ${order.id} is ${order.status}: nothing was paid to refund`)
  const refundable = await leftToRefund(trx, order)
  if (refundable <= 0) throw new Conflict(`Order ${order.id} is refunded in full already`)
  const amount = request.amount ?? refundable
  if (amount > refundable) throw invalidField('amount', `must be at most ${refundable}, what is left to refund of order ${order.id}`)
  const [refund] = await trx('refunds')
    .insert({ id: randomUUID(), orderId: order.id, amount, currency: order.currency, reason: request.reason, by: request.by, status: 'pending' })
    .returning('*')
  await app.get('events').effects.schedule(trx, REFUND, refund.id, { refundId: refund.id })
  return refund
}

/**
 * Carries out refunds with the order's provider (key per order and refund: a retry never pays
 * back twice), then posts the ledger journal and emits `order.refunded`. A refund of everything
 * paid makes an order that was not cancelled `refunded`; it is money only unless the order was
 * never shipped (`restock`).
 */
export const refundOrders = (app: ServiceApplication) => {
  const db: Knex = app.get('postgresqlClient')
  const events = app.get('events')
  const providers = paymentProviders(app)

  const refund = async ({ payload }: SideEffect<{ refundId: string }>) => {
    const pending: Refund | undefined = await db('refunds').where({ id: payload.refundId, status: 'pending' }).first()
    if (!pending) return
    const order = await db('orders')
      .join('checkouts', 'checkouts.id', 'orders.checkoutId')
      .where('orders.id', pending.orderId)
      .first('orders.paymentId', 'checkouts.paymentProvider')
    const { refundId } = await providers[order.paymentProvider].refund({
      idempotencyKey: `${pending.orderId}:refund:${pending.id}`,
      captureId: order.paymentId,
      amount: pending.amount,
      currency: pending.currency
    })
    await runInTransaction(db, async (trx) => {
      const current = (await lockOrder(trx, pending.orderId)) as OrderRow
      const updated = await trx('refunds').where({ id: pending.id, status: 'pending' }).update({ status: 'succeeded', refundReference: refundId })
      if (updated === 0) return
      const movement = { orderId: current.id, sellerId: current.sellerId, currency: current.currency }
      await refundToBuyer(trx, movement, pending)
      const fully = (await refundedSoFar(trx, current.id, ['succeeded'])) >= current.total
      await events.emit(trx, 'order.refunded', {
        orderId: current.id,
        buyerId: current.buyerId,
        sellerId: current.sellerId,
        amount: pending.amount,
        currency: pending.currency,
        // Refunded in full while still paid: the goods never left, so the catalog takes them back.
        // A cancelled order's stock comes back on order.cancelled; a shipped one's does not.
        restock: fully && current.status === 'paid'
      })
      if (fully && current.status !== 'cancelled' && current.status !== 'refunded') {
        await changeStatus(trx, current, 'refunded', { by: pending.by === SYSTEM ? SYSTEM : pending.by, reason: pending.reason })
      }
    })
  }

  events.effects.perform<{ refundId: string }>(REFUND, refund, {
    // An operator sees it in GET /refunds and the side_effects table, and may refund again.
    onGiveUp: async ({ payload }) => void (await db('refunds').where({ id: payload.refundId, status: 'pending' }).update({ status: 'failed' }))
  })
}
