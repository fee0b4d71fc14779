import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Principal } from '@marketmesh/shared'
import { waitFor } from '@marketmesh/test-support'
import { TestPaymentProvider } from '../src/payments/test-provider'
import { buyer, checkoutBody, knownProducts, productCreated, seller, startOrders, type Orders } from './helpers'

const WEBHOOK_SECRET = 'whsec_payment_webhooks_test_secret'
let orders: Orders
let provider: TestPaymentProvider
beforeAll(async () => {
  orders = await startOrders('payment_webhooks', {
    paymentTestWebhookSecret: WEBHOOK_SECRET,
    sideEffects: { retryDelaysMs: [300, 600], leaseMs: 1_000, pollIntervalMs: 100 }
  })
  provider = new TestPaymentProvider(orders.db, WEBHOOK_SECRET)
})
afterAll(() => orders?.close())

const post = (body: string, headers: Record<string, string>, name = 'test') =>
  fetch(`${orders.url}/payment-webhooks/${name}`, { method: 'POST', headers, body })

const deliver = async (webhook: { rawBody: string; headers: Record<string, string> }) => {
  const response = await post(webhook.rawBody, webhook.headers)
  return { status: response.status, body: await response.json() }
}

/** A checkout of one product from each of `owners`, placed by `customer` with `token`. */
const placeCheckout = async (customer: Principal, owners: Principal[], token: string) => {
  const products = await knownProducts(
    orders,
    owners.map((owner) => productCreated(owner, { price: 2_500 }))
  )
  const placed = await orders.call('POST', '/checkouts', {
    as: customer,
    body: checkoutBody(
      products.map((product) => ({ productId: product.productId, quantity: 1 })),
      token
    ),
    headers: { 'Idempotency-Key': randomUUID() }
  })
  expect(placed.status).toBe(201)
  return { checkout: placed.body, products }
}

/** The catalog's reservation of every order of the checkout, played by the test bus. */
const reserveAll = async (checkout: { id: string; orders: Array<{ id: string }> }, products: Array<{ productId: string }>) => {
  for (const [index, order] of checkout.orders.entries()) {
    const { productId } = products[index]
    await orders.emit('stock.reserved', {
      orderId: order.id,
      checkoutId: checkout.id,
      currency: 'EUR',
      lines: [{ productId, quantity: 1, unitPrice: 2_500 }]
    })
  }
}

const statusesOf = async (checkoutId: string) => (await orders.db('orders').where({ checkoutId }).orderBy('id').pluck('status')) as string[]
const callsOf = (checkoutId: string, operation: string) =>
  orders.db('test_provider_calls').where({ operation }).where('idempotencyKey', 'like', `${checkoutId}:%`).pluck('result')
const paidEvents = async (checkoutId: string) =>
  (await orders.db('outbox').where({ type: 'order.paid' }).select('envelope')).filter((row) => row.envelope.data.checkoutId === checkoutId)

describe('a payment the buyer confirms (3-D Secure): requires_action, then the provider’s webhook', () => {
  it('answers the checkout with the client secret, waits for the webhook, then captures once and pays each order once', async () => {
    const customer = buyer()
    const { checkout, products } = await placeCheckout(customer, [seller(), seller()], 'tok_requires_action')
    expect(checkout.payment).toMatchObject({ provider: 'test', status: 'requires_action', amount: 5_000, currency: 'EUR' })
    expect(checkout.payment.clientSecret).toMatch(/^test_authorize_.+_secret$/)
    await reserveAll(checkout, products)
    await waitFor(async () => (await orders.db('orders').where({ checkoutId: checkout.id }).whereNotNull('paymentStartedAt')).length === 2, {
      what: 'both orders reserved'
    })
    expect(await statusesOf(checkout.id)).toEqual(['pending', 'pending'])
    expect(await callsOf(checkout.id, 'capture')).toEqual([])

    const { paymentId } = await orders.db('payments').where({ checkoutId: checkout.id }).first('paymentId')
    const confirmed = await provider.confirm(paymentId)
    expect(await deliver(confirmed)).toEqual({ status: 200, body: { received: true, handled: true } })
    await waitFor(async () => (await statusesOf(checkout.id)).every((status) => status === 'paid'), { what: 'both orders paid' })
    // The same event again (a provider resends until it has a 2xx): acknowledged, changes nothing.
    expect(await deliver(confirmed)).toEqual({ status: 200, body: { received: true, handled: false } })
    expect(await callsOf(checkout.id, 'capture')).toEqual(['succeeded'])
    expect(await paidEvents(checkout.id)).toHaveLength(2)
    const shown = (await orders.call('GET', `/checkouts/${checkout.id}`, { as: customer })).body
    expect(shown.payment).toEqual({ ...checkout.payment, status: 'captured', captured: 5_000, refunded: 0, clientSecret: undefined })
    expect(shown.payment).not.toHaveProperty('clientSecret')
    expect((await orders.call('GET', `/checkouts/${checkout.id}`, { as: buyer() })).status).toBe(404)
  })

  it('never rolls a payment back for an older event arriving late: a failure reported after the capture changes nothing', async () => {
    const customer = buyer()
    const { checkout, products } = await placeCheckout(customer, [seller()], 'tok_requires_action')
    await reserveAll(checkout, products)
    const { paymentId } = await orders.db('payments').where({ checkoutId: checkout.id }).first('paymentId')
    const created = Math.floor(Date.now() / 1000)
    const olderFailure = provider.signWebhook({
      id: `evt_${randomUUID()}`,
      created: created - 60,
      type: 'payment.failed',
      paymentId,
      reason: 'card_declined'
    })
    expect((await deliver(await provider.confirm(paymentId))).status).toBe(200)
    await waitFor(async () => (await statusesOf(checkout.id))[0] === 'paid', { what: 'the order paid' })
    expect(await deliver(olderFailure)).toEqual({ status: 200, body: { received: true, handled: true } })
    expect(await statusesOf(checkout.id)).toEqual(['paid'])
    expect((await orders.db('payments').where({ checkoutId: checkout.id }).first('status')).status).toBe('captured')
  })

  it('declines the orders when the provider reports the confirmation failed', async () => {
    const customer = buyer()
    const { checkout, products } = await placeCheckout(customer, [seller()], 'tok_requires_action')
    await reserveAll(checkout, products)
    const { paymentId } = await orders.db('payments').where({ checkoutId: checkout.id }).first('paymentId')
    const failed = provider.signWebhook({
      id: `evt_${randomUUID()}`,
      created: Math.floor(Date.now() / 1000),
      type: 'payment.failed',
      paymentId,
      reason: 'authentication_failed'
    })
    expect((await deliver(failed)).status).toBe(200)
    await waitFor(async () => (await statusesOf(checkout.id))[0] === 'cancelled', { what: 'the order cancelled' })
    expect(await orders.db('orders').where({ checkoutId: checkout.id }).first('reason')).toEqual({ reason: 'payment_failed' })
    expect(await orders.db('payments').where({ checkoutId: checkout.id }).first('status', 'failureReason')).toEqual({
      status: 'failed',
      failureReason: 'authentication_failed'
    })
  })
})

describe('POST /payment-webhooks/:provider refuses what its provider did not sign', () => {
  const event = {
    id: `evt_${randomUUID()}`,
    created: Math.floor(Date.now() / 1000),
    type: 'payment.captured',
    paymentId: 'test_authorize_x',
    amount: 1
  }

  it('answers 400 for a missing, wrong or stale signature and a body that is not JSON, 404 for an unknown provider', async () => {
    const signed = provider.signWebhook(event)
    const { 'stripe-signature': _signature, ...unsigned } = signed.headers
    expect((await post(signed.rawBody, unsigned)).status).toBe(400)
    const forged = new TestPaymentProvider(orders.db, 'whsec_someone_else_entirely').signWebhook(event)
    expect((await post(forged.rawBody, forged.headers)).status).toBe(400)
    // The body changed after signing: the signature is over the bytes as they arrived.
    expect((await post(signed.rawBody.replace('"amount":1', '"amount":2'), signed.headers)).status).toBe(400)
    const stale = provider.signWebhook(event, Math.floor(Date.now() / 1000) - 301)
    expect((await post(stale.rawBody, stale.headers)).status).toBe(400)
    expect((await post('not json', { ...signed.headers, 'content-type': 'text/plain' })).status).toBe(400)
    const answer = await post(signed.rawBody, signed.headers, 'acme')
    expect(answer.status).toBe(404)
    expect(((await answer.json()) as { message: string }).message).toBe('No payment provider acme')
    // A name every object has is no provider either (the fuzz suite's find: it was a 500).
    for (const name of ['toString', 'constructor', '__proto__']) expect((await post(signed.rawBody, signed.headers, name)).status, name).toBe(404)
    expect(await orders.db('payment_webhook_events').where({ eventId: event.id })).toEqual([])
  })

  it('acknowledges and ignores an event type it does not act on, and one about a payment it does not know', async () => {
    const unknownType = provider.signWebhook({ id: `evt_${randomUUID()}`, created: Math.floor(Date.now() / 1000), type: 'charge.dispute.created' })
    expect(await deliver(unknownType)).toEqual({ status: 200, body: { received: true, handled: false } })
    expect(await deliver(provider.signWebhook(event))).toEqual({ status: 200, body: { received: true, handled: false } })
  })
})

describe('a webhook racing our own capture', () => {
  it('pays each order once when payment.captured arrives while our capture is being concluded: one capture', async () => {
    const customer = buyer()
    const { checkout, products } = await placeCheckout(customer, [seller(), seller()], 'tok_ok')
    expect(checkout.payment.status).toBe('authorized')
    const { paymentId } = await orders.db('payments').where({ checkoutId: checkout.id }).first('paymentId')
    // Paying an order writes its timeline: holding that table stops our conclusion after the capture call.
    const blocker = await orders.db.transaction()
    await blocker.raw('LOCK TABLE order_timeline IN EXCLUSIVE MODE')
    try {
      await reserveAll(checkout, products)
      await waitFor(async () => (await callsOf(checkout.id, 'capture')).length === 1, { what: 'our capture' })
      const captured = provider.signWebhook({
        id: `evt_${randomUUID()}`,
        created: Math.floor(Date.now() / 1000),
        type: 'payment.captured',
        paymentId,
        amount: 5_000
      })
      const webhook = deliver(captured)
      await new Promise((resolve) => setTimeout(resolve, 300))
      await blocker.commit()
      expect(await webhook).toEqual({ status: 200, body: { received: true, handled: true } })
    } finally {
      if (!blocker.isCompleted()) await blocker.rollback()
    }
    await waitFor(async () => (await statusesOf(checkout.id)).every((status) => status === 'paid'), { what: 'both orders paid' })
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await callsOf(checkout.id, 'capture')).toEqual(['succeeded'])
    expect(await paidEvents(checkout.id)).toHaveLength(2)
  })

  it('pays each order once when payment.captured arrives while our capture’s answers are being lost: no capture again, no lookup needed', async () => {
    const customer = buyer()
    const { checkout, products } = await placeCheckout(customer, [seller(), seller()], 'tok_capture_timeout')
    const { paymentId } = await orders.db('payments').where({ checkoutId: checkout.id }).first('paymentId')
    await reserveAll(checkout, products)
    await waitFor(async () => (await callsOf(checkout.id, 'capture')).length === 1, { what: 'our first capture' })
    const captured = provider.signWebhook({
      id: `evt_${randomUUID()}`,
      created: Math.floor(Date.now() / 1000),
      type: 'payment.captured',
      paymentId,
      amount: 5_000
    })
    expect(await deliver(captured)).toEqual({ status: 200, body: { received: true, handled: true } })
    expect(await statusesOf(checkout.id)).toEqual(['paid', 'paid'])
    // Its retries find the payment captured: the provider is not asked again.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect((await callsOf(checkout.id, 'capture')).length).toBeLessThanOrEqual(2)
    expect(await outcomesOf(checkout.id, 'capture')).toHaveLength(1)
    expect(await paidEvents(checkout.id)).toHaveLength(2)
    expect(await orders.db('side_effects').where({ kind: 'payment-settle' }).where('key', 'like', `${checkout.id}:%`)).toEqual([])
  })
})

/** The describe's tests run on an order-service of their own, started with `settings`, in place of the file's. */
const onOwnOrderService = (label: string, settings: Record<string, unknown>) => {
  let shared: Orders
  beforeAll(async () => {
    shared = orders
    orders = await startOrders(label, { paymentTestWebhookSecret: WEBHOOK_SECRET, ...settings })
  })
  afterAll(async () => {
    await orders?.close()
    orders = shared
  })
}

describe('a webhook before our API answer', () => {
  // A first failed authorization is retried only after the test: the answer to the authorization
  // stays lost while the provider's webhook arrives.
  onOwnOrderService('payment_webhooks_early', {
    checkoutPaymentWait: '1s',
    sideEffects: { retryDelaysMs: [60_000], leaseMs: 1_000, pollIntervalMs: 100 }
  })

  it('takes the step when payment.authorized arrives before the authorization’s answer: the payment found by its checkout, captured once, each order paid once', async () => {
    const { checkout, products } = await placeCheckout(buyer(), [seller(), seller()], 'tok_authorize_timeout')
    // The provider authorized it; its answer has not reached us: the provider's id is not stored yet.
    expect(checkout.payment.status).toBe('authorizing')
    const [{ reference: paymentId }] = await outcomesOf(checkout.id, 'authorize')
    expect(await orders.db('payments').where({ checkoutId: checkout.id }).first('paymentId')).toEqual({ paymentId: null })
    const authorized = provider.signWebhook({
      id: `evt_${randomUUID()}`,
      created: Math.floor(Date.now() / 1000),
      type: 'payment.authorized',
      paymentId,
      checkoutId: checkout.id,
      amount: 5_000
    })
    expect(await deliver(authorized)).toEqual({ status: 200, body: { received: true, handled: true } })
    expect(await orders.db('payments').where({ checkoutId: checkout.id }).first('status', 'paymentId')).toEqual({ status: 'authorized', paymentId })
    await reserveAll(checkout, products)
    await waitFor(async () => (await statusesOf(checkout.id)).every((status) => status === 'paid'), { what: 'both orders paid' })
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await outcomesOf(checkout.id, 'authorize')).toHaveLength(1)
    expect(await callsOf(checkout.id, 'capture')).toEqual(['succeeded'])
    expect(await paidEvents(checkout.id)).toHaveLength(2)
  })

  it('does not take a payment by its checkout when the event names another payment than the one stored', async () => {
    const { checkout } = await placeCheckout(buyer(), [seller()], 'tok_requires_action')
    const failed = provider.signWebhook({
      id: `evt_${randomUUID()}`,
      created: Math.floor(Date.now() / 1000),
      type: 'payment.failed',
      paymentId: `test_authorize_${randomUUID()}`,
      checkoutId: checkout.id,
      reason: 'card_declined'
    })
    expect(await deliver(failed)).toEqual({ status: 200, body: { received: true, handled: false } })
    expect(await orders.db('payments').where({ checkoutId: checkout.id }).first('status')).toEqual({ status: 'requires_action' })
  })
})

const outcomesOf = (checkoutId: string, operation: string) =>
  orders.db('test_provider_outcomes').where({ idempotencyKey: `${checkoutId}:${operation}` })

describe('POST /payment-webhooks/:provider per source IP', () => {
  onOwnOrderService('payment_webhooks_limited', { paymentWebhookRateLimit: { window: '1m', maxPerIp: 3 } })

  it('answers 429 with Retry-After past the limit, signed or not, and handles nothing it refused', async () => {
    const unsigned = await post('{}', { 'content-type': 'application/json' })
    expect(unsigned.status).toBe(400)
    const event = { id: `evt_${randomUUID()}`, created: Math.floor(Date.now() / 1000), type: 'charge.dispute.created' }
    expect(await deliver(provider.signWebhook(event))).toEqual({ status: 200, body: { received: true, handled: false } })
    expect(await deliver(provider.signWebhook({ ...event, id: `evt_${randomUUID()}` }))).toMatchObject({ status: 200 })

    const refusedEvent = { ...event, id: `evt_${randomUUID()}` }
    const signed = provider.signWebhook(refusedEvent)
    const refused = await post(signed.rawBody, signed.headers)
    expect(refused.status).toBe(429)
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(((await refused.json()) as { message: string }).message).toMatch(/Too many webhook requests/)
    expect(await orders.db('payment_webhook_events').where({ eventId: refusedEvent.id })).toEqual([])
    expect((await post('{}', { 'content-type': 'application/json' })).status).toBe(429)
    // A query is bad input, named as such, limit or not.
    const withQuery = await fetch(`${orders.url}/payment-webhooks/test?debug=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}'
    })
    expect(withQuery.status).toBe(400)
    expect(((await withQuery.json()) as { message: string }).message).toMatch(/debug/)
  })
})
