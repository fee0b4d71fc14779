import { type Knex, runInTransaction, type ServiceApplication, setEventCause } from '@marketmesh/shared'
import { releaseEscrow } from '../ledger/ledger'
import { cancel, deliver } from './lifecycle'
import { changeStatus, lockOrder, SYSTEM, type OrderRow } from './status'

/**
 * The order's durable timers: delayed side effects (rows in PostgreSQL, claimed by one instance
 * with SKIP LOCKED), so they survive restarts and fire once however many instances run. Each
 * checks the order's status under its lock: a timer whose moment has passed changes nothing.
 */
export const PENDING_TIMEOUT = 'order-pending-timeout'
export const AUTO_DELIVER = 'order-auto-deliver'
export const RELEASE_ESCROW = 'order-release-escrow'

export const orderTimers = (app: ServiceApplication) => {
  const db: Knex = app.get('postgresqlClient')
  const events = app.get('events')
  const onOrder =
    (work: (trx: Knex.Transaction, order: OrderRow) => Promise<void>) =>
    async ({ payload, id }: { payload: { orderId: string }; id: string }) =>
      runInTransaction(db, async (trx) => {
        setEventCause(trx, { correlationId: id, causationId: null })
        const order = await lockOrder(trx, payload.orderId)
        if (order) await work(trx, order)
      })

  events.effects.perform<{ orderId: string }>(
    PENDING_TIMEOUT,
    onOrder(async (trx, order) => {
      // A payment in progress ends the order itself, paid or cancelled.
      if (order.status === 'pending' && !order.paymentStartedAt) await cancel(app, trx, order, SYSTEM, 'timeout')
    })
  )
  events.effects.perform<{ orderId: string }>(
    AUTO_DELIVER,
    onOrder(async (trx, order) => {
      if (order.status === 'shipped') await deliver(app, trx, order, SYSTEM)
    })
  )
  events.effects.perform<{ orderId: string }>(
    RELEASE_ESCROW,
    onOrder(async (trx, order) => {
      if (order.status !== 'delivered') return
      const { payout, commission } = await releaseEscrow(
        trx,
        { orderId: order.id, sellerId: order.sellerId, currency: order.currency },
        app.get('commissionPercent')
      )
      await changeStatus(trx, order, 'completed', { by: SYSTEM })
      await events.emit(trx, 'order.completed', {
        orderId: order.id,
        buyerId: order.buyerId,
        sellerId: order.sellerId,
        payout,
        commission,
        currency: order.currency
      })
    })
  )
}
