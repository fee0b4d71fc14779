import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventData } from '@marketmesh/events'
import type { Principal } from '@marketmesh/shared'
import { waitFor } from '@marketmesh/test-support'
import { startStripeServer, STRIPE_TEST_PAYMENT_METHODS as pm, type StripeServer } from '@marketmesh/test-support/stripe'
import { buyer, checkoutBody, knownProducts, productCreated, seller, startOrders, type Orders } from './helpers'

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
      currency: 'EUR',
      lines: [{ productId: product.productId, quantity: 1, unitPrice: product.price }]
    })
  }
}

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
  const owner = seller()
  await orders.emit('user.registered', {
    userId: owner.id,
    version: 1,
    email: `shop-${owner.id}@example.com`,
    name: 'Sam Seller',
    role: 'seller',
    status: 'active',
    shopName: 'Sam’s shop'
  })
  await waitFor(() => orders.db('users').where({ id: owner.id }).first('id'), { what: 'the seller in the read model' })
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
