import { runInTransaction, type SideEffect } from '@marketmesh/events'
import { type Knex, type ServiceApplication } from '@marketmesh/shared'
import { lockOrder, payBack, REFUND, type OrderRow, type RefundRow } from '../orders/order'
import { paymentProviders, PaymentUnavailableError } from '.'

/**
 * Performs the `refund` side effect the order's `refund` step schedules: pays the refund back from
 * its checkout's payment (key per order and refund: a retry never pays back twice), then takes the
 * order's `payBack` step (the ledger's journal, `order.refunded`, `refunded` once all that was
 * paid is back). A provider that could not answer may have paid it back with only its answer
 * lost: past the last retry it is asked again later with the same key, never given up as failed
 * (a failed refund may be asked for again, which would pay back twice). One the provider refused
 * fails: an operator sees it in GET /refunds and the side_effects table, and may refund again.
 */
export const refundOrders = (app: ServiceApplication) => {
  const db: Knex = app.get('postgresqlClient')
  const events = app.get('events')
  const providers = paymentProviders(app)
  const { retryDelaysMs, pollIntervalMs } = app.get('sideEffects')
  const againAfter = Math.max(pollIntervalMs, ...retryDelaysMs)

  const refund = async (effect: SideEffect<{ refundId: string }>) => {
    const { payload } = effect
    const pending: RefundRow | undefined = await db('refunds').where({ id: payload.refundId, status: 'pending' }).first()
    if (!pending) return
    const payment = await db('payments')
      .join('orders', 'orders.checkoutId', 'payments.checkoutId')
      .where('orders.id', pending.orderId)
      .first('payments.paymentId', 'payments.provider')
    const { refundId } = await providers[payment.provider].refund({
      idempotencyKey: `${pending.orderId}:refund:${pending.id}`,
      paymentId: payment.paymentId,
      amount: pending.amount,
      currency: pending.currency
    })
    await events.effects.conclude(effect, async (trx) => {
      const current = (await lockOrder(trx, pending.orderId)) as OrderRow
      await payBack(app, trx, current, pending, refundId)
    })
  }

  events.effects.perform<{ refundId: string }>(REFUND, refund, {
    onGiveUp: async ({ payload }, error) => {
      if (error instanceof PaymentUnavailableError) {
        await runInTransaction(db, (trx) =>
          events.effects.schedule(trx, REFUND, `${payload.refundId}:${Date.now()}`, payload, { delayMs: againAfter })
        )
      } else {
        await db('refunds').where({ id: payload.refundId, status: 'pending' }).update({ status: 'failed' })
      }
    }
  })
}
