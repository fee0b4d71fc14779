import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { waitFor } from '@marketmesh/test-support'
import { buyer, checkoutBody, knownProducts, productCreated, seller, startOrders, type Orders } from './helpers'

let orders: Orders
beforeAll(async () => {
  orders = await startOrders('payment_timeout', { orderPendingTimeout: '3s', sideEffects: { pollIntervalMs: 100 } })
})
afterAll(() => orders?.close())

it('voids a payment its buyer never confirmed at ORDER_PENDING_TIMEOUT, once, and cancels its reserved orders for payment_failed', async () => {
  const [product] = await knownProducts(orders, [productCreated(seller(), { price: 3_000 })])
  const customer = buyer()
  const placed = await orders.call('POST', '/checkouts', {
    as: customer,
    body: checkoutBody([{ productId: product.productId, quantity: 1 }], 'tok_requires_action'),
    headers: { 'Idempotency-Key': randomUUID() }
  })
  expect(placed.body.payment.status).toBe('requires_action')
  const orderId: string = placed.body.orders[0].id
  await orders.emit('stock.reserved', {
    orderId,
    checkoutId: placed.body.id,
    currency: 'EUR',
    lines: [{ productId: product.productId, quantity: 1, unitPrice: 3_000 }]
  })
  await waitFor(async () => (await orders.db('orders').where({ id: orderId }).first('status')).status === 'cancelled', {
    what: 'the unconfirmed checkout cancelled',
    timeoutMs: 15_000
  })
  expect(await orders.db('orders').where({ id: orderId }).first('reason')).toEqual({ reason: 'payment_failed' })
  expect((await orders.call('GET', `/checkouts/${placed.body.id}`, { as: customer })).body.payment).toMatchObject({ status: 'voided', captured: 0 })
  expect(
    await orders
      .db('test_provider_calls')
      .where({ idempotencyKey: `${placed.body.id}:void` })
      .pluck('result')
  ).toEqual(['succeeded'])
  await orders.eventsOf('order.cancelled', 1, (event) => event.data.orderId === orderId)
})
