import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Principal } from '@marketmesh/shared'
import { cleanUp, isolatedEnvironment, startServiceProcess, waitFor, type ServiceProcess } from '@marketmesh/test-support'
import { envelope } from '@marketmesh/test-support/service-under-test'
import { buyer, callProcess, checkoutBody, seller, shippingAddress, startOrders, type Orders } from './helpers'

// The saga across real processes: catalog-service runs as its own process on the same broker prefix.
const env = isolatedEnvironment('saga')
let catalog: ServiceProcess
let orders: Orders
beforeAll(async () => {
  catalog = await startServiceProcess('catalog-service', env)
  orders = await startOrders('saga', {
    amqp: { prefix: env.AMQP_PREFIX },
    sideEffects: { retryDelaysMs: [300, 600], leaseMs: 1_000, pollIntervalMs: 100 }
  })
})
afterAll(async () => {
  catalog?.child.kill('SIGTERM')
  await catalog?.exited
  await orders?.close()
  await cleanUp({ databases: [env.DATABASE_URL] })
})

const catalogCall = (method: string, path: string, as: Principal, body?: unknown) => callProcess(catalog, method, path, as, body)

/** A product in the catalog, once order-service's read model has it. */
const listed = async (owner: Principal, overrides: Record<string, unknown> = {}) => {
  const product = await catalogCall('POST', '/products', owner, { title: 'Brass lamp', price: 4_000, currency: 'EUR', stock: 5, ...overrides })
  await waitFor(() => orders.db('products').where({ id: product.id }).first('id'), { what: 'the product in the read model' })
  return product as { id: string; price: number; stock: number }
}

const stockOf = async (owner: Principal, productId: string) => (await catalogCall('GET', `/products/${productId}`, owner)).stock

const checkout = async (customer: Principal, items: Array<{ productId: string; quantity: number }>, token = 'tok_ok') => {
  const response = await orders.call('POST', '/checkouts', {
    as: customer,
    body: checkoutBody(items, token),
    headers: { 'Idempotency-Key': randomUUID() }
  })
  expect(response.status).toBe(201)
  return response.body as { id: string; orders: Array<{ id: string; sellerId: string }>; payment: { id: string; status: string; amount: number } }
}

const settled = async (customer: Principal, orderId: string) =>
  waitFor(
    async () => {
      const order = (await orders.call('GET', `/orders/${orderId}`, { as: customer })).body
      return order.status !== 'pending' && order
    },
    { what: `order ${orderId} to leave pending`, timeoutMs: 30_000 }
  )

/** The calls of a checkout's payment (keys `<checkoutId>:<step>`). */
const providerCalls = (checkoutId: string) =>
  orders.db('test_provider_calls').where('idempotencyKey', 'like', `${checkoutId}:%`).orderBy('id').select('operation', 'result')

const outcome = (checkoutId: string, operation: string) =>
  orders
    .db('test_provider_outcomes')
    .where({ idempotencyKey: `${checkoutId}:${operation}` })
    .first('reference', 'amount')

const paymentOf = async (customer: Principal, checkoutId: string) =>
  (await orders.call('GET', `/checkouts/${checkoutId}`, { as: customer })).body.payment

describe('the order saga', () => {
  it('pays the orders of two sellers from one payment: authorized once, stock reserved at the quoted prices, captured once, order.paid with the receipt', async () => {
    const [first, second] = [seller(), seller()]
    const lamp = await listed(first, { price: 4_000 })
    const rug = await listed(second, { price: 9_900, title: 'Wool rug' })
    const customer = buyer()
    const placed = await checkout(customer, [
      { productId: lamp.id, quantity: 2 },
      { productId: rug.id, quantity: 1 }
    ])
    expect(placed.orders).toHaveLength(2)
    // Captured already when both reservations were in by the provider's answer (see below).
    expect(placed.payment).toMatchObject({ provider: 'test', amount: 17_900, currency: 'EUR' })
    expect(['authorized', 'captured']).toContain(placed.payment.status)
    expect(placed.payment).not.toHaveProperty('clientSecret')

    for (const { id } of placed.orders) {
      const order = await settled(customer, id)
      expect(order.status).toBe('paid')
      expect(order.timeline.map((step: { to: string }) => step.to)).toEqual(['pending', 'paid'])
    }
    expect(await providerCalls(placed.id)).toEqual([
      { operation: 'authorize', result: 'succeeded' },
      { operation: 'capture', result: 'succeeded' }
    ])
    expect((await outcome(placed.id, 'capture')).amount).toBe(17_900)
    expect(await paymentOf(customer, placed.id)).toMatchObject({ status: 'captured', amount: 17_900, captured: 17_900, refunded: 0 })
    const lampOrder = placed.orders.find((order) => order.sellerId === first.sellerId)!
    const [paid] = await orders.eventsOf('order.paid', 1, (event) => event.data.orderId === lampOrder.id)
    expect(paid.data).toMatchObject({
      checkoutId: placed.id,
      total: 8_000,
      currency: 'EUR',
      buyerName: shippingAddress.name,
      shippingAddress,
      lines: [{ productId: lamp.id, title: 'Brass lamp', quantity: 2, unitPrice: 4_000 }],
      paymentId: (await outcome(placed.id, 'authorize')).reference
    })
    expect(await stockOf(first, lamp.id)).toBe(3)

    const metrics = await (await fetch(`${orders.opsUrl}/metrics`)).text()
    expect(metrics).toMatch(/payment_provider_calls_total\{provider="test",operation="capture",result="succeeded"[^}]*\} [1-9]/)
    expect(metrics).toMatch(/orders\{status="paid"[^}]*\} [1-9]/)
    expect(metrics).toMatch(/order_saga_step_seconds_count\{[^}]*step="paid"[^}]*\} [1-9]/)
  })

  it('captures in the authorization’s own effect when every reservation is in by the provider’s answer: one conclusion, no capture effect', async () => {
    const owner = seller()
    const lamp = await listed(owner, { price: 3_500 })
    const customer = buyer()
    // Holding the provider's table holds its answer back until the reservation is in.
    const blocker = await orders.db.transaction()
    await blocker.raw('LOCK TABLE test_provider_outcomes IN EXCLUSIVE MODE')
    let placing: ReturnType<typeof checkout> | undefined
    try {
      placing = checkout(customer, [{ productId: lamp.id, quantity: 1 }])
      await waitFor(() => orders.db('orders').where({ buyerId: customer.id }).whereNotNull('paymentStartedAt').first('id'), {
        what: 'the reservation in, the authorization still waiting'
      })
    } finally {
      await blocker.rollback()
    }
    const placed = await placing
    const order = await settled(customer, placed.orders[0].id)
    expect(order.status).toBe('paid')
    expect(placed.payment.status).toBe('captured')
    expect(await providerCalls(placed.id)).toEqual([
      { operation: 'authorize', result: 'succeeded' },
      { operation: 'capture', result: 'succeeded' }
    ])
    expect((await outcome(placed.id, 'capture')).amount).toBe(3_500)
    expect(await orders.db('side_effects').where({ key: placed.id }).pluck('kind')).toEqual(['payment-authorize'])
    expect(await orders.db('payments').where({ checkoutId: placed.id }).first('status', 'captured')).toEqual({ status: 'captured', captured: 3_500 })
  })

  it('rejects an order whose stock the catalog cannot reserve, naming why', async () => {
    const owner = seller()
    const lamp = await listed(owner, { stock: 1 })
    const customer = buyer()
    const placed = await checkout(customer, [{ productId: lamp.id, quantity: 2 }])
    const order = await settled(customer, placed.orders[0].id)
    expect(order).toMatchObject({ status: 'rejected', reason: `${lamp.id}: insufficient_stock: 1 left` })
    // Nothing reserved: the hold is released, nothing captured.
    await waitFor(async () => (await paymentOf(customer, placed.id)).status === 'voided', { what: 'the hold voided' })
    expect(await providerCalls(placed.id)).toEqual([
      { operation: 'authorize', result: 'succeeded' },
      { operation: 'void', result: 'succeeded' }
    ])
    await orders.eventsOf('order.rejected', 1, (event) => event.data.orderId === order.id)
  })

  it('rejects an order whose price changed between the checkout and the reservation (price_changed): no payment, stock untouched', async () => {
    const owner = seller()
    const lamp = await listed(owner, { price: 4_000, stock: 5 })
    await catalogCall('PATCH', `/products/${lamp.id}`, owner, { price: 4_500 })
    await waitFor(async () => (await orders.db('products').where({ id: lamp.id }).first('price')).price === 4_500, {
      what: 'the new price in the read model'
    })
    // The checkout quoted the price its read model held before the change arrived.
    await orders.db('products').where({ id: lamp.id }).update({ price: 4_000 })
    const customer = buyer()
    const placed = await checkout(customer, [{ productId: lamp.id, quantity: 2 }])
    const order = await settled(customer, placed.orders[0].id)
    expect(order).toMatchObject({ status: 'rejected', reason: `${lamp.id}: price_changed: quoted 4000, now 4500`, total: 8_000 })
    await waitFor(async () => (await paymentOf(customer, placed.id)).status === 'voided', { what: 'the hold voided' })
    expect((await providerCalls(placed.id)).map((call) => call.operation)).toEqual(['authorize', 'void'])
    expect(await stockOf(owner, lamp.id)).toBe(5)
  })

  it('cancels a declined payment for payment_failed and the catalog gives the stock back', async () => {
    const owner = seller()
    const lamp = await listed(owner, { stock: 5 })
    const customer = buyer()
    const placed = await checkout(customer, [{ productId: lamp.id, quantity: 2 }], 'tok_declined')
    const order = await settled(customer, placed.orders[0].id)
    expect(order).toMatchObject({ status: 'cancelled', reason: 'payment_failed' })
    expect(placed.payment.status).toBe('failed')
    expect(await providerCalls(placed.id)).toEqual([{ operation: 'authorize', result: 'declined' }])
    await waitFor(async () => (await stockOf(owner, lamp.id)) === 5, { what: 'the stock back in the catalog' })
  })

  it('retries a provider that is unavailable, not a decline, and then pays', async () => {
    const owner = seller()
    const lamp = await listed(owner)
    const customer = buyer()
    const placed = await checkout(customer, [{ productId: lamp.id, quantity: 1 }], 'tok_unavailable')
    const order = await settled(customer, placed.orders[0].id)
    expect(order.status).toBe('paid')
    expect(await providerCalls(placed.id)).toEqual([
      { operation: 'authorize', result: 'unavailable' },
      { operation: 'authorize', result: 'succeeded' },
      { operation: 'capture', result: 'succeeded' }
    ])
  })

  it('changes nothing for a stock.reserved delivered again or a stock.rejected arriving after it', async () => {
    const owner = seller()
    const lamp = await listed(owner)
    const customer = buyer()
    const placed = await checkout(customer, [{ productId: lamp.id, quantity: 1 }])
    const order = await settled(customer, placed.orders[0].id)
    expect(order.status).toBe('paid')
    const ref = { orderId: order.id, checkoutId: placed.id, currency: 'EUR', lines: [{ productId: lamp.id, quantity: 1, unitPrice: 1 }] }
    const late = [
      envelope('stock.reserved', ref),
      envelope('stock.rejected', { orderId: order.id, checkoutId: placed.id, reasons: [{ productId: lamp.id, reason: 'not_found' }] })
    ]
    for (const event of late) await orders.publishRaw(event)
    await waitFor(
      async () =>
        (
          await orders.db('processed_events').whereIn(
            'event_id',
            late.map((event) => event.id)
          )
        ).length === 2,
      {
        what: 'the late events handled'
      }
    )
    const after = (await orders.call('GET', `/orders/${order.id}`, { as: customer })).body
    expect(after).toMatchObject({ status: 'paid', total: order.total, lines: order.lines, timeline: order.timeline })
    expect((await providerCalls(placed.id)).filter((call) => call.operation === 'capture')).toHaveLength(1)
  })

  it('captures only the reserved order of a checkout whose other order was rejected: one partial capture', async () => {
    const [first, second] = [seller(), seller()]
    const lamp = await listed(first, { price: 4_000, stock: 5 })
    const rug = await listed(second, { price: 9_900, stock: 1, title: 'Wool rug' })
    const customer = buyer()
    const placed = await checkout(customer, [
      { productId: lamp.id, quantity: 1 },
      { productId: rug.id, quantity: 2 }
    ])
    const byShop = (owner: Principal) => placed.orders.find((order) => order.sellerId === owner.sellerId)!.id
    expect(await settled(customer, byShop(first))).toMatchObject({ status: 'paid', total: 4_000 })
    expect(await settled(customer, byShop(second))).toMatchObject({ status: 'rejected' })
    expect(await providerCalls(placed.id)).toEqual([
      { operation: 'authorize', result: 'succeeded' },
      { operation: 'capture', result: 'succeeded' }
    ])
    expect((await outcome(placed.id, 'authorize')).amount).toBe(4_000 + 2 * 9_900)
    expect((await outcome(placed.id, 'capture')).amount).toBe(4_000)
    expect(await paymentOf(customer, placed.id)).toMatchObject({ status: 'captured', amount: 23_800, captured: 4_000 })
  })
})

describe('a charge whose answers were lost past every retry: the provider is asked what became of it', () => {
  const calls = async (checkoutId: string, operation: string) =>
    (await providerCalls(checkoutId)).filter((call) => call.operation === operation).map((call) => call.result)
  const outcomes = (checkoutId: string) =>
    orders.db('test_provider_outcomes').where('idempotencyKey', 'like', `${checkoutId}:%`).orderBy('operation').select('operation', 'reference')

  const lostAnswers = async (token: string) => {
    const owner = seller()
    const lamp = await listed(owner, { price: 3_000, stock: 5 })
    const customer = buyer()
    const placed = await checkout(customer, [{ productId: lamp.id, quantity: 2 }], token)
    const order = await settled(customer, placed.orders[0].id)
    return { owner, lamp, customer, order, checkoutId: placed.id }
  }

  it('makes the order paid when the capture was made and only its answer lost: charged once, nothing voided or refunded', async () => {
    const { owner, lamp, order, checkoutId } = await lostAnswers('tok_capture_timeout')
    expect(order.status).toBe('paid')
    expect(order.timeline.map((step: { to: string }) => step.to)).toEqual(['pending', 'paid'])
    // Three attempts (the retries of the test settings), each capture answered by a timeout, then one lookup.
    expect(await calls(checkoutId, 'capture')).toEqual(['succeeded', 'replayed', 'replayed'])
    expect(await calls(checkoutId, 'lookup')).toEqual(['captured'])
    expect(await calls(checkoutId, 'void')).toEqual([])
    expect(await orders.db('test_provider_calls').where({ operation: 'refund' }).where('idempotencyKey', 'like', `${order.id}:%`)).toEqual([])
    const capture = (await outcomes(checkoutId)).find((outcome) => outcome.operation === 'capture')
    const payment = await orders.db('payments').where({ checkoutId }).first()
    expect(payment).toMatchObject({ status: 'captured', captureId: capture.reference, captured: 6_000 })
    expect((await orders.db('orders').where({ id: order.id }).first('paymentId')).paymentId).toBe(payment.paymentId)
    const [paid] = await orders.eventsOf('order.paid', 1, (event) => event.data.orderId === order.id)
    expect(paid.data).toMatchObject({ total: 6_000, paymentId: payment.paymentId })
    expect((await orders.call('GET', '/ledger', { as: owner })).body).toMatchObject({ balances: [{ currency: 'EUR', held: 6_000, available: 0 }] })
    expect(await stockOf(owner, lamp.id)).toBe(3)
  })

  it('goes on with an authorization whose answers were lost once the lookup finds it: authorized once, captured once', async () => {
    const { owner, lamp, order, checkoutId } = await lostAnswers('tok_authorize_timeout')
    expect(order.status).toBe('paid')
    expect(await calls(checkoutId, 'authorize')).toEqual(['succeeded', 'replayed', 'replayed'])
    expect(await calls(checkoutId, 'lookup')).toEqual(['authorized'])
    expect(await calls(checkoutId, 'capture')).toEqual(['succeeded'])
    expect(await calls(checkoutId, 'void')).toEqual([])
    expect((await outcomes(checkoutId)).map((outcome) => outcome.operation)).toEqual(['authorize', 'capture'])
    expect(await stockOf(owner, lamp.id)).toBe(3)
  })

  it('cancels for payment_failed when nothing reached the provider: no hold to void', async () => {
    const { owner, lamp, order, checkoutId } = await lostAnswers('tok_outage')
    expect(order).toMatchObject({ status: 'cancelled', reason: 'payment_failed' })
    expect(await calls(checkoutId, 'authorize')).toEqual(['unavailable', 'unavailable', 'unavailable'])
    expect(await calls(checkoutId, 'lookup')).toEqual(['none'])
    expect(await calls(checkoutId, 'void')).toEqual([])
    await waitFor(async () => (await stockOf(owner, lamp.id)) === 5, { what: 'the stock back in the catalog' })
  })

  it('never cancels while the lookup is unavailable too: it asks again in later rounds until the provider answers', async () => {
    const { owner, lamp, order, checkoutId } = await lostAnswers('tok_lookup_outage')
    expect(order.status).toBe('paid')
    expect(order.timeline.map((step: { to: string }) => step.to)).toEqual(['pending', 'paid'])
    // The first round's three lookups and the second's first were unavailable.
    expect(await calls(checkoutId, 'lookup')).toEqual(['unavailable', 'unavailable', 'unavailable', 'unavailable', 'captured'])
    // The lost answers are the capture's: in the authorization's effect when the reservation came first, else in its own.
    const settles = await orders.db('side_effects').where('key', 'like', `${checkoutId}:%`).orderBy('key').select('kind', 'key', 'status')
    const phase = settles[0]?.key.split(':')[1]
    expect(['authorize', 'capture']).toContain(phase)
    expect(settles).toEqual([
      { kind: 'payment-settle', key: `${checkoutId}:${phase}:1`, status: 'failed' },
      { kind: 'payment-settle', key: `${checkoutId}:${phase}:2`, status: 'done' }
    ])
    expect(await stockOf(owner, lamp.id)).toBe(3)
  })
})
