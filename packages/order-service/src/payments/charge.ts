import { type EventData, type Knex, runInTransaction, type ServiceApplication, setEventCause, type SideEffect } from '@marketmesh/shared'
import { holdPayment } from '../ledger/ledger'
import { changeStatus, lockOrder, SYSTEM, type OrderRow } from '../orders/status'
import { paymentProviders } from '.'

/** The side effect that pays for an order once its stock is reserved. */
export const CHARGE = 'charge'

interface ChargePayload {
  orderId: string
  /** The saga's correlation, carried on to the events the payment's outcome emits. */
  correlationId: string
  causationId: string
}

/**
 * Authorizes and captures an order's total through its checkout's provider, then makes the
 * order `paid` (its total held in escrow, the receipt in `order.paid`) or `cancelled` for `payment_failed`. A provider
 * that is unavailable throws: the side effect is retried later with the same idempotency keys,
 * so a capture that happened before a crash is answered again, not charged again. When every
 * retry has failed, the order is cancelled as unpaid.
 */
export const chargeOrders = (app: ServiceApplication) => {
  const db: Knex = app.get('postgresqlClient')
  const events = app.get('events')
  const providers = paymentProviders(app)

  const conclude = (payload: ChargePayload, work: (trx: Knex.Transaction, order: OrderRow) => Promise<void>) =>
    runInTransaction(db, async (trx) => {
      setEventCause(trx, { correlationId: payload.correlationId, causationId: payload.causationId })
      const order = await lockOrder(trx, payload.orderId)
      if (order?.status !== 'pending') return
      await work(trx, order)
      app.get('orderMetrics').sagaStep.observe({ step: order.status }, (Date.now() - new Date(order.createdAt).getTime()) / 1000)
    })

  const cancelUnpaid = (payload: ChargePayload) =>
    conclude(payload, async (trx, order) => {
      await changeStatus(trx, order, 'cancelled', { by: SYSTEM, reason: 'payment_failed' })
      await events.emit(trx, 'order.cancelled', { orderId: order.id, buyerId: order.buyerId, sellerId: order.sellerId, reason: 'payment_failed' })
    })

  const charge = async ({ payload }: SideEffect<ChargePayload>) => {
    // The order and its receipt's lines and address, in one round trip: none of it changes once
    // its payment has started.
    const lines: ChargeLine[] = await db('orders')
      .join('checkouts', 'checkouts.id', 'orders.checkoutId')
      .join('order_lines', 'order_lines.orderId', 'orders.id')
      .where('orders.id', payload.orderId)
      .orderBy('order_lines.productId')
      .select(
        'orders.status',
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
    const [order] = lines
    if (order?.status !== 'pending') return
    const provider = providers[order.paymentProvider]
    const { total: amount, currency } = order
    const authorization = await provider.authorize({ idempotencyKey: `${payload.orderId}:authorize`, token: order.paymentToken, amount, currency })
    if (authorization.status === 'declined') return cancelUnpaid(payload)
    const { captureId } = await provider.capture({
      idempotencyKey: `${payload.orderId}:capture`,
      authorizationId: authorization.authorizationId,
      amount,
      currency
    })
    await conclude(payload, async (trx, pending) => {
      await changeStatus(trx, pending, 'paid', { by: SYSTEM, changes: { paymentId: captureId } })
      await holdPayment(trx, { orderId: pending.id, sellerId: pending.sellerId, currency: pending.currency, total: pending.total })
      await events.emit(trx, 'order.paid', receiptOf(pending, captureId, lines))
    })
  }

  events.effects.perform<ChargePayload>(CHARGE, charge, { onGiveUp: ({ payload }) => cancelUnpaid(payload) })
}

interface ChargeLine {
  status: OrderRow['status']
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

/** `order.paid`: what notify-service needs to print and mail the order, with no other service's data. */
const receiptOf = (order: OrderRow, paymentId: string, lines: ChargeLine[]) => ({
  orderId: order.id,
  buyerId: order.buyerId,
  sellerId: order.sellerId,
  checkoutId: order.checkoutId,
  total: order.total,
  currency: order.currency,
  paymentId,
  placedAt: new Date(order.createdAt).toISOString(),
  buyerName: order.buyerName,
  shopName: order.shopName,
  shippingAddress: lines[0].shippingAddress,
  lines: lines.map(({ productId, title, quantity, unitPrice }) => ({ productId, title, quantity, unitPrice }))
})
