import { withEventCause, type SideEffect } from '@marketmesh/events'
import { type Knex, type ServiceApplication } from '@marketmesh/shared'
import { AUTO_DELIVER, BY_SYSTEM, complete, deliver, expire, lockOrder, PENDING_TIMEOUT, RELEASE_ESCROW, type OrderRow } from '../orders/order'

/**
 * The order's durable timers: delayed side effects (rows in PostgreSQL, claimed by one instance
 * with SKIP LOCKED), so they survive restarts and fire once however many instances run. Each
 * takes its step with the order locked, in the transaction that marks it done: a timer whose
 * moment has passed changes nothing.
 */
export const orderTimers = (app: ServiceApplication) => {
  const events = app.get('events')
  const onOrder =
    (step: (trx: Knex.Transaction, order: OrderRow, cause: { correlationId: string; causationId: null }) => Promise<void>) =>
    (effect: SideEffect<{ orderId: string }>) =>
      events.effects.conclude(effect, async (trx) => {
        const cause = { correlationId: effect.id, causationId: null }
        return withEventCause(cause, async () => {
          const order = await lockOrder(trx, effect.payload.orderId)
          if (order) await step(trx, order, cause)
        })
      })

  events.effects
    .perform<{ orderId: string }>(
      PENDING_TIMEOUT,
      onOrder((trx, order, cause) => expire(app, trx, order, cause))
    )
    .perform<{ orderId: string }>(
      AUTO_DELIVER,
      onOrder((trx, order) => deliver(app, trx, order, BY_SYSTEM))
    )
    .perform<{ orderId: string }>(
      RELEASE_ESCROW,
      onOrder((trx, order) => complete(app, trx, order))
    )
}
