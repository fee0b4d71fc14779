import { type EventData, runInTransaction, withEventCause, type SideEffect } from '@marketmesh/events'
import { type Knex, type ServiceApplication } from '@marketmesh/shared'
import { awaitsPayment, CHARGE, decline, lockOrder, pay, type OrderRow } from '../orders/order'
import { paymentProviders } from '.'

/** The side effect that asks the provider what became of a charge that gave up, and ends the order by the answer. */
export const SETTLE_CHARGE = 'charge-settle'

interface ChargePayload {
  orderId: string
  /** The saga's correlation, carried on to the events the payment's outcome emits. */
  correlationId: string
  causationId: string
}

interface SettlePayload extends ChargePayload {
  /** 1 for the first round of lookups; each round that gives up schedules the next. */
  round: number
}

/** The idempotency keys of an order's payment calls: one per order and step. */
const keysOf = (orderId: string) => ({ authorize: `${orderId}:authorize`, capture: `${orderId}:capture`, void: `${orderId}:void` })

/**
 * Performs the `charge` side effect the `reserve` step schedules: authorizes and captures an
 * order's total through its checkout's provider, then takes the order's `pay` step (its total held
 * in escrow, the receipt in `order.paid`) or `decline` (`cancelled` for `payment_failed`). A provider that is unavailable throws: the side effect is retried later with
 * the same idempotency keys, so a capture that happened before a crash is answered again, not
 * charged again.
 *
 * When every retry has failed, the order is not cancelled blindly (the capture may have happened
 * and only its answer been lost): a `charge-settle` side effect asks the provider what became of
 * the payment. Captured: the order is paid. Authorized: the hold is voided, then the order
 * cancelled. Nothing (or voided): cancelled. While the provider cannot answer that either, the
 * order stays pending with its payment in progress: the lookup is retried, and each round that
 * gives up schedules another, the longest retry delay later, until the provider answers (each
 * failed round is a failed side effect an operator sees).
 */
export const chargeOrders = (app: ServiceApplication) => {
  const db: Knex = app.get('postgresqlClient')
  const events = app.get('events')
  const providers = paymentProviders(app)
  const { retryDelaysMs, pollIntervalMs } = app.get('sideEffects')
  const settleRoundEvery = Math.max(pollIntervalMs, ...retryDelaysMs)

  const conclude = (payload: ChargePayload, step: (trx: Knex.Transaction, order: OrderRow) => Promise<boolean>) =>
    runInTransaction(db, async (trx) => {
      return withEventCause({ correlationId: payload.correlationId, causationId: payload.causationId }, async () => {
        const order = await lockOrder(trx, payload.orderId)
        if (!order || !(await step(trx, order))) return
        app.get('orderMetrics').sagaStep.observe({ step: order.status }, (Date.now() - new Date(order.createdAt).getTime()) / 1000)
      })
    })

  const cancelUnpaid = (payload: ChargePayload) => conclude(payload, (trx, order) => decline(app, trx, order))

  const markPaid = (payload: ChargePayload, captureId: string, lines: ChargeLine[]) =>
    conclude(payload, (trx, order) => pay(app, trx, order, captureId, receiptOf(lines)))

  // The order and its receipt's lines and address, in one round trip: none of it changes once
  // its payment has started.
  const chargeLinesOf = (orderId: string): Promise<ChargeLine[]> =>
    db('orders')
      .join('checkouts', 'checkouts.id', 'orders.checkoutId')
      .join('order_lines', 'order_lines.orderId', 'orders.id')
      .where('orders.id', orderId)
      .orderBy('order_lines.productId')
      .select(
        'orders.status',
        'orders.paymentStartedAt',
        'orders.total',
        'orders.currency',
        'checkouts.paymentProvider',
        'checkouts.paymentToken',
        'checkouts.shippingAddress',
        'order_lines.productId',
        'order_lines.title',
        'order_lines.quantity',
        'order_lines.unitPrice'
      )

  const charge = async ({ payload }: SideEffect<ChargePayload>) => {
    const lines = await chargeLinesOf(payload.orderId)
    const [order] = lines
    if (!order || !awaitsPayment(order)) return
    const provider = providers[order.paymentProvider]
    const keys = keysOf(payload.orderId)
    const { total: amount, currency } = order
    const authorization = await provider.authorize({ idempotencyKey: keys.authorize, token: order.paymentToken, amount, currency })
    if (authorization.status === 'declined') return cancelUnpaid(payload)
    const { captureId } = await provider.capture({ idempotencyKey: keys.capture, authorizationId: authorization.authorizationId, amount, currency })
    await markPaid(payload, captureId, lines)
  }

  const settle = async ({ payload }: SideEffect<SettlePayload>) => {
    const lines = await chargeLinesOf(payload.orderId)
    const [order] = lines
    if (!order || !awaitsPayment(order)) return
    const provider = providers[order.paymentProvider]
    const keys = keysOf(payload.orderId)
    const payment = await provider.lookup({ idempotencyKey: keys.authorize })
    if (payment.status === 'captured') return markPaid(payload, payment.captureId, lines)
    if (payment.status === 'authorized') await provider.void({ idempotencyKey: keys.void, authorizationId: payment.authorizationId })
    await cancelUnpaid(payload)
  }

  const scheduleSettle = (payload: ChargePayload, round: number, delayMs: number) =>
    runInTransaction(db, async (trx) => {
      const { orderId, correlationId, causationId } = payload
      const next: SettlePayload = { orderId, correlationId, causationId, round }
      await events.effects.schedule(trx, SETTLE_CHARGE, `${orderId}:${round}`, next, { delayMs })
    })

  events.effects
    .perform<ChargePayload>(CHARGE, charge, { onGiveUp: ({ payload }) => scheduleSettle(payload, 1, 0) })
    .perform<SettlePayload>(SETTLE_CHARGE, settle, {
      onGiveUp: ({ payload }) => scheduleSettle(payload, payload.round + 1, settleRoundEvery)
    })
}

interface ChargeLine {
  status: OrderRow['status']
  paymentStartedAt: OrderRow['paymentStartedAt']
  total: number
  currency: string
  paymentProvider: string
  paymentToken: string
  shippingAddress: EventData<'order.paid'>['shippingAddress']
  productId: string
  title: string
  quantity: number
  unitPrice: number
}

/** The receipt's part of `order.paid` the order row does not hold: what notify-service needs to print and mail it. */
const receiptOf = (lines: ChargeLine[]) => ({
  shippingAddress: lines[0].shippingAddress,
  lines: lines.map(({ productId, title, quantity, unitPrice }) => ({ productId, title, quantity, unitPrice }))
})
