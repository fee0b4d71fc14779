import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '@marketmesh/test-support'
import { accessToken } from '@marketmesh/test-support/tokens'
import { createApp } from '@marketmesh/order-service'
import { checkoutBody, knownProducts, ORDER_EVENTS, productCreated } from '@marketmesh/test-support/events'
import { admin, buyer, seller, startServiceUnderTest, type ServiceUnderTest } from '@marketmesh/test-support/service-under-test'
import { createMarketmeshClient } from '../src'

describe('mm.refunds on order-service', () => {
  let orders: ServiceUnderTest
  beforeAll(async () => {
    orders = await startServiceUnderTest({
      label: 'client_refunds',
      createApp,
      settings: { sideEffects: { pollIntervalMs: 100 } },
      watched: ORDER_EVENTS
    })
  })
  afterAll(() => orders?.close())

  it('sends the Idempotency-Key it is given, so a retried refund is the same refund; the buyer finds it', async () => {
    const customer = buyer()
    const [product] = await knownProducts(orders, [productCreated(seller(), { price: 3_000 })])
    const mm = createMarketmeshClient({ baseUrl: orders.url, token: accessToken(customer) })
    const checkout = await mm.checkouts.create(
      { ...checkoutBody([{ productId: product.productId, quantity: 1 }]), payment: { provider: 'test', token: 'tok_ok' } },
      { idempotencyKey: randomUUID() }
    )
    const orderId = checkout.orders[0].id
    await orders.emit('stock.reserved', {
      orderId,
      checkoutId: checkout.id,
      currency: 'EUR',
      lines: [{ productId: product.productId, quantity: 1, unitPrice: 3_000 }]
    })
    await waitFor(async () => (await mm.orders.get(orderId)).status === 'paid', { what: 'the order paid' })

    const operator = createMarketmeshClient({ baseUrl: orders.url, token: accessToken(admin()) })
    const idempotencyKey = randomUUID()
    const data = { orderId, amount: 250, reason: 'scuffed box' }
    const made = await operator.refunds.create(data, { idempotencyKey })
    expect(await operator.refunds.create(data, { idempotencyKey })).toEqual(made)

    const { data: seen } = await waitFor(
      async () => {
        const found = await mm.refunds.find({ query: { orderId } })
        return found.data[0]?.status === 'succeeded' && found
      },
      { what: 'the refund paid' }
    )
    expect(seen).toEqual([expect.objectContaining({ id: made.id, amount: 250, reason: 'scuffed box' })])
    expect(await mm.orders.get(orderId)).toMatchObject({ refunded: 250 })
  })
})
