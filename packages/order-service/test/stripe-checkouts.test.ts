import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventData } from '@marketmesh/events'
import type { Principal } from '@marketmesh/shared'
import { waitFor } from '@marketmesh/test-support'
import { startStripeServer, STRIPE_TEST_PAYMENT_METHODS as pm, type StripeServer } from '@marketmesh/test-support/stripe'
import { admin, buyer, checkoutBody, knownProducts, productCreated, registeredSeller, seller, startOrders, type Orders } from './helpers'

// order-service paying through Stripe, whose API is the local Stripe-compatible server (each
// request, answer and event checked against Stripe's OpenAPI description); Stripe posts its events
// to order-service's webhook endpoint, as a dashboard's endpoint would.
let stripe: StripeServer
let orders: Orders
beforeAll(async () => {
  stripe = await startStripeServer()
  orders = await startOrders('stripe_checkouts', {
    stripe: { secretKey: 'sk_test_marketmesh', webhookSecret: stripe.webhookSecret, apiUrl: stripe.url },
    checkoutPaymentWait: '1s',
    paymentLookupLag: '2s',
    escrowReleaseAfter: '0',
    commissionPercent: 10,
    sideEffects: { retryDelaysMs: [300, 600], pollIntervalMs: 100 }
  })
  stripe.sendWebhooksTo(`${orders.url}/payment-webhooks/stripe`)
})
afterAll(async () => {
  await orders?.close()
  await stripe?.close()
})

type Product = EventData<'product.created'>
interface Placed {
  id: string
  orders: Array<{ id: string; sellerId: string }>
  payment: { status: string; clientSecret?: string }
}

const checkout = async (customer: Principal, products: Product[], paymentMethod: string): Promise<Placed> => {
  const placed = await orders.call('POST', '/checkouts', {
    as: customer,
    body: { ...checkoutBody(products.map(({ productId }) => ({ productId, quantity: 1 }))), payment: { provider: 'stripe', token: paymentMethod } },
    headers: { 'Idempotency-Key': randomUUID() }
  })
  expect(placed.status).toBe(201)
  return placed.body
}

/** The catalog's reservation of each order of the checkout (one product each, in the order placed), played by the test bus. */
const reserveAll = async (placed: Placed, products: Product[]) => {
  for (const product of products) {
    const order = placed.orders.find((placedOrder) => placedOrder.sellerId === product.sellerId)!
    await orders.emit('stock.reserved', {
      orderId: order.id,
      checkoutId: placed.id,
      currency: 'EUR',
      lines: [{ productId: product.productId, quantity: 1, unitPrice: product.price }]
    })
  }
}

const paymentOf = (checkoutId: string) => orders.db('payments').where({ checkoutId }).first()
const ordersOf = (checkoutId: string) => orders.db('orders').where({ checkoutId }).orderBy('id').select('id', 'status', 'reason')
const allOrders = (checkoutId: string, status: string) =>
  waitFor(async () => (await ordersOf(checkoutId)).every((order) => order.status === status), { what: `the orders ${status}` })
const requestsTo = (method: string, path: string) => stripe.requests.filter((request) => request.method === method && request.path === path)
const intentOf = (checkoutId: string) => {
  const found = [...stripe.intents.values()].filter((intent) => (intent.metadata as Record<string, string>).checkout_id === checkoutId)
  expect(found).toHaveLength(1)
  return found[0]
}

/** A seller order-service has heard of, with a Stripe Express account they have finished onboarding. */
const onboardedSeller = async () => {
  const owner = await registeredSeller(orders)
  const opened = await orders.call('POST', '/payout-accounts', { as: owner, body: { provider: 'stripe', returnUrl: 'https://shop.example/payouts' } })
  expect(opened.status).toBe(201)
  expect(opened.body).toMatchObject({ provider: 'stripe', status: 'pending', requirements: expect.arrayContaining(['external_account']) })
  expect(opened.body.onboardingUrl.startsWith(`${stripe.url}/setup/e/acct_`)).toBe(true)
  const { accountId } = await orders.db('payout_accounts').where({ sellerId: owner.sellerId }).first('accountId')
  // The seller finishes onboarding on Stripe's pages: account.updated reaches order-service.
  stripe.completeOnboarding(accountId)
  await waitFor(async () => (await orders.call('GET', '/payout-accounts', { as: owner })).body.data[0]?.status === 'enabled', {
    what: 'the account enabled by account.updated'
  })
  return { owner, accountId: accountId as string }
}

describe('a checkout paid through Stripe', () => {
  it('is one PaymentIntent for two shops, confirmed by its buyer (3-D Secure), captured once; each seller is paid by a Transfer from its charge after escrow', async () => {
    const shops = [await onboardedSeller(), await onboardedSeller()]
    const products = await knownProducts(
      orders,
      shops.map(({ owner }) => productCreated(owner, { price: 2_500 }))
    )
    const customer = buyer()
    const placed = await checkout(customer, products, pm.authenticationRequired)
    expect(placed.payment).toMatchObject({ provider: 'stripe', status: 'requires_action', amount: 5_000, currency: 'EUR' })
    const intent = intentOf(placed.id)
    expect(placed.payment.clientSecret).toBe(intent.client_secret)
    expect(intent).toMatchObject({ amount: 5_000, currency: 'eur', capture_method: 'manual', transfer_group: placed.id, status: 'requires_action' })
    await reserveAll(placed, products)
    await waitFor(async () => (await orders.db('orders').where({ checkoutId: placed.id }).whereNotNull('paymentStartedAt')).length === 2, {
      what: 'both orders reserved'
    })

    // The buyer passes 3-D Secure in the app: payment_intent.amount_capturable_updated moves the saga on.
    stripe.confirmByBuyer(intent.id)
    await allOrders(placed.id, 'paid')
    expect(intent).toMatchObject({ status: 'succeeded', amount_received: 5_000 })
    const captures = requestsTo('POST', `/v1/payment_intents/${intent.id}/capture`)
    expect(captures.map(({ idempotencyKey, replayed }) => ({ idempotencyKey, replayed }))).toEqual([
      { idempotencyKey: `${placed.id}:capture`, replayed: false }
    ])
    expect((await orders.call('GET', `/checkouts/${placed.id}`, { as: customer })).body.payment).toMatchObject({
      status: 'captured',
      captured: 5_000
    })

    for (const { owner } of shops) {
      const { id: orderId } = placed.orders.find((order) => order.sellerId === owner.sellerId)!
      expect((await orders.call('PATCH', `/orders/${orderId}`, { as: owner, body: { status: 'shipped' } })).status).toBe(200)
      expect((await orders.call('PATCH', `/orders/${orderId}`, { as: customer, body: { status: 'delivered' } })).status).toBe(200)
    }
    const payouts = await waitFor(
      async () => {
        const rows = await orders
          .db('payouts')
          .whereIn(
            'orderId',
            placed.orders.map((order) => order.id)
          )
          .where({ status: 'paid' })
        return rows.length === 2 && rows
      },
      { what: 'both sellers paid out' }
    )
    for (const payout of payouts) {
      const { accountId } = shops.find(({ owner }) => owner.sellerId === payout.sellerId)!
      // The net: 2,500 less the commission's 250.
      expect(payout.amount).toBe(2_250)
      expect(stripe.transfers.get(payout.reference)).toMatchObject({
        amount: 2_250,
        currency: 'eur',
        destination: accountId,
        transfer_group: placed.id,
        source_transaction: intent.latest_charge
      })
    }
    expect(stripe.transfers.size).toBe(2)
    expect(stripe.violations).toEqual([])
  })
})

/** An order of an onboarded seller paid through Stripe, shipped, delivered and paid out to them: its payout. */
const paidOutOrder = async (price: number) => {
  const { owner } = await onboardedSeller()
  const products = await knownProducts(orders, [productCreated(owner, { price })])
  const customer = buyer()
  const placed = await checkout(customer, products, pm.pays)
  await reserveAll(placed, products)
  await allOrders(placed.id, 'paid')
  const [{ id: orderId }] = placed.orders
  expect((await orders.call('PATCH', `/orders/${orderId}`, { as: owner, body: { status: 'shipped' } })).status).toBe(200)
  expect((await orders.call('PATCH', `/orders/${orderId}`, { as: customer, body: { status: 'delivered' } })).status).toBe(200)
  const payout = await waitFor(() => orders.db('payouts').where({ orderId, status: 'paid' }).first(), { what: 'the seller paid out' })
  return { owner, orderId, payout }
}

describe('a refund after the payout', () => {
  it('takes the seller’s share back by a Transfer Reversal, once, though every answer to the reversal was lost past its retries', async () => {
    const { owner, orderId, payout } = await paidOutOrder(5_000)
    expect(payout.amount).toBe(4_500)
    // The reversal's first three attempts, each asked three times by Stripe's client; the refund itself is answered.
    Object.assign(stripe.faults, { lostAnswersTo: '/v1/transfers/', lostAnswers: 9 })
    let refundId: string
    try {
      const asked = await orders.call('POST', '/refunds', {
        as: admin(),
        body: { orderId, amount: 2_000, reason: 'one leg broken' },
        headers: { 'Idempotency-Key': randomUUID() }
      })
      expect(asked.status).toBe(201)
      refundId = asked.body.id
      await waitFor(
        async () =>
          (await orders.db('side_effects').where({ kind: 'payout-reverse', status: 'done' }).where('key', 'like', `${refundId}%`)).length === 1,
        {
          what: 'the reversal made',
          timeoutMs: 30_000
        }
      )
      expect(stripe.faults.lostAnswers).toBe(0)
    } finally {
      Object.assign(stripe.faults, { lostAnswersTo: '', lostAnswers: 0 })
    }
    // The first round gave up on an unavailable Stripe, a later one was answered: one reversal of the seller's share (2,000 less 200).
    const rounds = await orders
      .db('side_effects')
      .where({ kind: 'payout-reverse' })
      .where('key', 'like', `${refundId}%`)
      .orderBy('created_at')
      .pluck('status')
    expect(rounds[0]).toBe('failed')
    const transfer = stripe.transfers.get(payout.reference)!
    expect(transfer.amount_reversed).toBe(1_800)
    expect((transfer.reversals as { data: Array<{ amount: number }> }).data.map((reversal) => reversal.amount)).toEqual([1_800])
    const asked = requestsTo('POST', `/v1/transfers/${payout.reference}/reversals`)
    expect(new Set(asked.map(({ idempotencyKey }) => idempotencyKey))).toEqual(new Set([`${refundId}:reverse`]))
    expect(asked.filter(({ replayed }) => !replayed)).toHaveLength(1)
    expect((await orders.call('GET', '/ledger', { as: owner })).body.balances).toEqual([{ currency: 'EUR', held: 0, available: 0, paidOut: 2_700 }])
    expect((await orders.call('GET', '/ledger', { as: admin() })).body.trialBalance).toEqual([{ currency: 'EUR', balance: 0 }])
    expect(stripe.violations).toEqual([])
  })
})

describe('a hold Stripe makes for a payment order-service has failed is released', () => {
  it('when the buyer confirms again after a failed attempt: the hold voided, the orders stay cancelled, nothing captured', async () => {
    const products = await knownProducts(orders, [productCreated(seller(), { price: 3_000 })])
    const placed = await checkout(buyer(), products, pm.authenticationRequired)
    const intent = intentOf(placed.id)
    await reserveAll(placed, products)
    await waitFor(async () => (await orders.db('orders').where({ checkoutId: placed.id }).whereNotNull('paymentStartedAt')).length === 1, {
      what: 'the order reserved'
    })
    stripe.confirmByBuyer(intent.id, pm.declined)
    await allOrders(placed.id, 'cancelled')
    expect(await paymentOf(placed.id)).toMatchObject({ status: 'failed', failureReason: 'generic_decline' })

    // The app lets the buyer try another card on the same payment, and Stripe holds the money.
    stripe.confirmByBuyer(intent.id, pm.pays)
    await waitFor(() => intent.status === 'canceled', { what: 'the stray hold voided' })
    await waitFor(async () => (await paymentOf(placed.id)).status === 'voided', { what: 'the payment released' })
    expect(await ordersOf(placed.id)).toEqual([expect.objectContaining({ status: 'cancelled', reason: 'payment_failed' })])
    expect(intent.amount_received).toBe(0)
    expect(requestsTo('POST', `/v1/payment_intents/${intent.id}/capture`)).toEqual([])
    expect(requestsTo('POST', `/v1/payment_intents/${intent.id}/cancel`).map(({ idempotencyKey }) => idempotencyKey)).toEqual([`${placed.id}:void`])
    expect(stripe.violations).toEqual([])
  })

  it('when every answer to the authorization was lost and Stripe’s search found it only later: the checkout declined at once, its hold voided after the lag', async () => {
    const products = await knownProducts(orders, [productCreated(seller(), { price: 4_000 })])
    stripe.faults.authorizationsLost = 1
    // Stripe's search lags behind: the lookup after the lost answers finds nothing.
    stripe.faults.searchLagMs = 3_600_000
    let placed: Placed
    try {
      placed = await checkout(buyer(), products, pm.pays)
      expect(placed.payment.status).toBe('authorizing')
      await reserveAll(placed, products)
      await allOrders(placed.id, 'cancelled')
      expect(await paymentOf(placed.id)).toMatchObject({ status: 'failed', failureReason: 'not_authorized', paymentId: null })
    } finally {
      stripe.faults.searchLagMs = 0
    }
    // Stripe made the intent and holds the money; its webhook is held back too.
    const intent = intentOf(placed.id)
    expect(stripe.answerlessAuthorizations.has(intent.id)).toBe(true)
    expect(requestsTo('GET', '/v1/payment_intents/search').length).toBeGreaterThanOrEqual(1)

    // PAYMENT_LOOKUP_LAG later the lookup finds it: voided with the checkout's void key.
    await waitFor(() => intent.status === 'canceled', { what: 'the hold voided after the lag' })
    await waitFor(async () => (await paymentOf(placed.id)).status === 'voided', { what: 'the payment released' })
    expect(await paymentOf(placed.id)).toMatchObject({ paymentId: intent.id, captured: 0 })
    expect(intent.amount_received).toBe(0)
    const cancels = () => requestsTo('POST', `/v1/payment_intents/${intent.id}/cancel`)
    expect(cancels().map(({ idempotencyKey, replayed }) => ({ idempotencyKey, replayed }))).toEqual([
      { idempotencyKey: `${placed.id}:void`, replayed: false }
    ])

    // The authorization's webhook arrives late, after all that: it changes nothing.
    expect(stripe.releaseWithheldWebhooks()).toBe(1)
    await waitFor(() => stripe.webhookBacklog() === 0, { what: 'the late webhook taken' })
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(cancels()).toHaveLength(1)
    expect(await paymentOf(placed.id)).toMatchObject({ status: 'voided' })
    expect(await ordersOf(placed.id)).toEqual([expect.objectContaining({ status: 'cancelled', reason: 'payment_failed' })])
    expect(await orders.db('side_effects').where({ kind: 'payment-release' }).where('key', 'like', `${placed.id}:%`).pluck('status')).toEqual([
      'done'
    ])
    expect(stripe.violations).toEqual([])
  })
})

describe('a refund whose every answer Stripe lost', () => {
  it('stays pending past its retries and is asked again with its key: paid back once, never failed', async () => {
    const products = await knownProducts(orders, [productCreated(seller(), { price: 6_000 })])
    const placed = await checkout(buyer(), products, pm.pays)
    await reserveAll(placed, products)
    await allOrders(placed.id, 'paid')
    const [{ id: orderId }] = placed.orders
    // The refund's first three attempts, each asked three times by Stripe's client.
    stripe.faults.lostAnswers = 9
    const asked = await orders.call('POST', '/refunds', {
      as: admin(),
      body: { orderId, amount: 1_500, reason: 'scratched' },
      headers: { 'Idempotency-Key': randomUUID() }
    })
    expect(asked.status).toBe(201)
    const refundId: string = asked.body.id
    await waitFor(async () => (await orders.db('refunds').where({ id: refundId }).first('status')).status !== 'pending', {
      what: 'the refund paid back',
      timeoutMs: 30_000
    })
    expect(await orders.db('refunds').where({ id: refundId }).first('status')).toEqual({ status: 'succeeded' })
    expect(stripe.faults.lostAnswers).toBe(0)
    // The first round gave up on an unavailable Stripe, the next one was answered.
    const rounds = await orders
      .db('side_effects')
      .where({ kind: 'refund' })
      .where('key', 'like', `${refundId}%`)
      .orderBy('created_at')
      .pluck('status')
    expect(rounds[0]).toBe('failed')
    expect(rounds.at(-1)).toBe('done')
    const intent = intentOf(placed.id)
    expect([...stripe.refunds.values()].filter((refund) => refund.payment_intent === intent.id).map((refund) => refund.amount)).toEqual([1_500])
    const made = requestsTo('POST', '/v1/refunds').filter(({ idempotencyKey }) => idempotencyKey?.startsWith(`${orderId}:`))
    expect(new Set(made.map(({ idempotencyKey }) => idempotencyKey))).toEqual(new Set([`${orderId}:refund:${refundId}`]))
    expect(made.filter(({ replayed }) => !replayed)).toHaveLength(1)
    expect(stripe.violations).toEqual([])
  })
})
