import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runInTransaction } from '@marketmesh/events'
import { type Principal } from '@marketmesh/shared'
import { waitFor } from '@marketmesh/test-support'
import { TestPaymentProvider } from '../src/payments/test-provider'
import { applyAccountUpdate, applyTransferFailed, applyTransferReversed } from '../src/payouts/payout'
import { admin, buyer, checkoutBody, knownProducts, productCreated, registeredSeller, seller, startOrders, type Orders } from './helpers'

let orders: Orders
beforeAll(async () => {
  orders = await startOrders('payouts', {
    sideEffects: { pollIntervalMs: 100, retryDelaysMs: [200, 400] },
    escrowReleaseAfter: '0',
    commissionPercent: 10,
    payoutAccountRateLimit: { window: '1h', maxPerSeller: 3 }
  })
})
afterAll(() => orders?.close())

const openAccount = (owner: Principal) =>
  orders.call('POST', '/payout-accounts', { as: owner, body: { provider: 'test', returnUrl: 'https://shop.example/payouts' } })

/** A seller with an enabled payout account at the test provider. */
const payableSeller = async () => {
  const owner = await registeredSeller(orders)
  const opened = await openAccount(owner)
  expect(opened.status).toBe(201)
  expect(opened.body.status).toBe('enabled')
  return owner
}

const statusOf = async (orderId: string) => (await orders.db('orders').where({ id: orderId }).first('status')).status

/** An order paid (the catalog's reservation played by the test bus). */
const paidOrder = async (owner: Principal, price = 10_000, customer = buyer()) => {
  const [product] = await knownProducts(orders, [productCreated(owner, { price })])
  const placed = await orders.call('POST', '/checkouts', {
    as: customer,
    body: checkoutBody([{ productId: product.productId, quantity: 1 }]),
    headers: { 'Idempotency-Key': randomUUID() }
  })
  expect(placed.status).toBe(201)
  const orderId: string = placed.body.orders[0].id
  await orders.emit('stock.reserved', {
    orderId,
    checkoutId: placed.body.id,
    currency: 'EUR',
    lines: [{ productId: product.productId, quantity: 1, unitPrice: price }]
  })
  await waitFor(async () => (await statusOf(orderId)) === 'paid', { what: 'the order paid' })
  return { orderId, customer, checkoutId: placed.body.id as string }
}

/** Shipped and delivered: the escrow is released at once (ESCROW_RELEASE_AFTER 0). */
const completedOrder = async (owner: Principal, price = 10_000) => {
  const paid = await paidOrder(owner, price)
  expect((await orders.call('PATCH', `/orders/${paid.orderId}`, { as: owner, body: { status: 'shipped' } })).status).toBe(200)
  expect((await orders.call('PATCH', `/orders/${paid.orderId}`, { as: paid.customer, body: { status: 'delivered' } })).status).toBe(200)
  await waitFor(async () => (await statusOf(paid.orderId)) === 'completed', { what: 'the escrow released' })
  return paid
}

const payoutsOf = (orderId: string) => orders.db('payouts').where({ orderId }).orderBy('createdAt')

const payoutSettled = (orderId: string, status: string, count = 1) =>
  waitFor(
    async () => {
      const rows = await payoutsOf(orderId)
      return rows.length === count && rows.at(-1).status === status && rows
    },
    { what: `the payout of ${orderId} ${status}` }
  )

const transferCalls = (payoutId: string) =>
  orders
    .db('test_provider_calls')
    .where({ idempotencyKey: `${payoutId}:transfer` })
    .orderBy('id')
    .pluck('result')

const setTransfers = (owner: Principal, result: 'enabled' | 'transfers_fail' | 'transfers_unavailable_once') =>
  orders
    .db('test_provider_outcomes')
    .where({ idempotencyKey: `${owner.sellerId}:test:account` })
    .update({ result })

const accountIdOf = async (owner: Principal) => (await orders.db('payout_accounts').where({ sellerId: owner.sellerId }).first('accountId')).accountId

const inTransaction = <T>(work: Parameters<typeof runInTransaction<T>>[1]) => runInTransaction(orders.db, work)

const trialBalance = async () => (await orders.call('GET', '/ledger', { as: admin() })).body.trialBalance

const sellerLedger = async (owner: Principal) => (await orders.call('GET', '/ledger', { as: owner })).body

describe('payout accounts', () => {
  it('opens one account per seller and provider, enabled at once with the test provider, with a fresh link on each POST', async () => {
    const owner = await registeredSeller(orders)
    const first = await openAccount(owner)
    expect(first.status).toBe(201)
    expect(first.body).toMatchObject({ provider: 'test', status: 'enabled', requirements: [], sellerId: owner.sellerId })
    expect(first.body.onboardingUrl).toMatch(/^https:\/\/shop\.example\/payouts\?test_account=/)
    expect(first.body.accountId).toBeUndefined()
    const again = await openAccount(owner)
    expect(again.body.id).toBe(first.body.id)
    expect(await orders.db('payout_accounts').where({ sellerId: owner.sellerId })).toHaveLength(1)
    expect(
      await orders
        .db('test_provider_calls')
        .where({ idempotencyKey: `${owner.sellerId}:test:account` })
        .pluck('result')
    ).toEqual(['enabled'])

    const own = await orders.call('GET', '/payout-accounts', { as: owner })
    expect(own.body.data.map((account: { id: string }) => account.id)).toEqual([first.body.id])
    expect((await orders.call('GET', '/payout-accounts', { as: seller() })).body.data).toEqual([])
    const all = await orders.call('GET', `/payout-accounts?sellerId=${owner.sellerId}`, { as: admin() })
    expect(all.body.data).toMatchObject([{ id: first.body.id, accountId: expect.stringMatching(/^test_account_/) }])
    expect((await orders.call('GET', '/payout-accounts', { as: buyer() })).status).toBe(403)
    expect((await orders.call('POST', '/payout-accounts', { as: buyer(), body: { provider: 'test', returnUrl: 'https://a.example' } })).status).toBe(
      403
    )
  })

  it('refuses bad input naming the field, and a seller order-service has not heard of yet', async () => {
    const owner = await registeredSeller(orders)
    const unknown = await orders.call('POST', '/payout-accounts', { as: owner, body: { provider: 'acme', returnUrl: 'https://a.example' } })
    expect(unknown.status).toBe(400)
    expect(JSON.stringify(unknown.body)).toMatch(/provider/)
    const badUrl = await orders.call('POST', '/payout-accounts', { as: owner, body: { provider: 'test', returnUrl: 'javascript:alert(1)' } })
    expect(badUrl.status).toBe(400)
    expect(JSON.stringify(badUrl.body)).toMatch(/returnUrl/)
    const stranger = await openAccount(seller())
    expect(stranger.status).toBe(409)
  })

  it('answers 429 with Retry-After to a seller past their limit of account requests, and serves other sellers', async () => {
    const owner = await registeredSeller(orders)
    for (let request = 0; request < 3; request++) expect((await openAccount(owner)).status).toBe(201)
    const refused = await openAccount(owner)
    expect(refused.status).toBe(429)
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(3_600)
    expect(refused.body.message).toMatch(/Too many payout account requests/)
    // A bad request counts too, and is refused before it is looked at.
    expect((await orders.call('POST', '/payout-accounts', { as: owner, body: { provider: 'acme' } })).status).toBe(429)
    expect((await openAccount(await registeredSeller(orders))).status).toBe(201)
  })

  it('with REQUIRE_PAYOUT_ACCOUNT, refuses a checkout from a seller without an enabled account: 409 naming the product', async () => {
    const [unpaid, payable] = [await registeredSeller(orders), await payableSeller()]
    const [lamp] = await knownProducts(orders, [productCreated(unpaid)])
    const [rug] = await knownProducts(orders, [productCreated(payable)])
    orders.app.set('requirePayoutAccount', true)
    try {
      const refused = await orders.call('POST', '/checkouts', {
        as: buyer(),
        body: checkoutBody([
          { productId: rug.productId, quantity: 1 },
          { productId: lamp.productId, quantity: 1 }
        ]),
        headers: { 'Idempotency-Key': randomUUID() }
      })
      expect(refused.status).toBe(409)
      expect(refused.body.message).toContain(lamp.productId)
      expect(refused.body.data).toMatchObject({ field: 'items.1.productId', productId: lamp.productId })
      const accepted = await orders.call('POST', '/checkouts', {
        as: buyer(),
        body: checkoutBody([{ productId: rug.productId, quantity: 1 }]),
        headers: { 'Idempotency-Key': randomUUID() }
      })
      expect(accepted.status).toBe(201)
    } finally {
      orders.app.set('requirePayoutAccount', false)
    }
  })
})

describe('payouts', () => {
  it('pays the seller the net at escrow release, once, from the order’s payment, and shows it in the ledger', async () => {
    const owner = await payableSeller()
    const { orderId } = await completedOrder(owner, 10_005)
    const [payout] = await payoutSettled(orderId, 'paid')
    // 10 % of 10,005 is 1,000.5: rounded half up to 1,001.
    expect(payout).toMatchObject({ sellerId: owner.sellerId, amount: 9_004, currency: 'EUR', reference: expect.stringMatching(/^test_transfer_/) })
    expect(await transferCalls(payout.id)).toEqual(['succeeded'])
    const [outcome] = await orders.db('test_provider_outcomes').where({ idempotencyKey: `${payout.id}:transfer` })
    expect(outcome).toMatchObject({ amount: 9_004, paymentId: await accountIdOf(owner) })
    const [paid] = await orders.eventsOf('payout.paid', 1, (event) => event.data.orderId === orderId)
    // Opened (1), its transfer started (2), paid (3): the revision its events carry.
    expect(paid.data).toMatchObject({ payoutId: payout.id, sellerId: owner.sellerId, amount: 9_004, reference: payout.reference, version: 3 })

    // The side effect run again (a redelivery, a retry after a crash): nothing is paid twice.
    await orders.db('side_effects').where({ kind: 'payout-transfer', key: payout.id }).update({ status: 'pending', run_after: orders.db.fn.now() })
    await waitFor(
      async () => (await orders.db('side_effects').where({ kind: 'payout-transfer', key: payout.id }).first('status')).status === 'done',
      {
        what: 'the transfer run again'
      }
    )
    expect(await transferCalls(payout.id)).toEqual(['succeeded'])
    expect(await payoutsOf(orderId)).toHaveLength(1)

    const ledger = await sellerLedger(owner)
    expect(ledger.balances).toEqual([{ currency: 'EUR', held: 0, available: 0, paidOut: 9_004 }])
    expect(ledger.orders).toEqual([
      { orderId, currency: 'EUR', status: 'completed', gross: 10_005, commission: 1_001, refunds: 0, net: 9_004, payoutStatus: 'paid' }
    ])
    expect(await trialBalance()).toEqual([{ currency: 'EUR', balance: 0 }])
  })

  it('keeps a payout pending until the seller’s account is enabled, then pays what is owed then', async () => {
    const owner = await registeredSeller(orders)
    const { orderId } = await completedOrder(owner, 5_000)
    const [waiting] = await payoutSettled(orderId, 'pending')
    expect(waiting).toMatchObject({ amount: 4_500, transferStartedAt: null })
    expect((await sellerLedger(owner)).orders[0]).toMatchObject({ net: 4_500, payoutStatus: 'pending' })
    expect((await sellerLedger(owner)).balances).toEqual([{ currency: 'EUR', held: 0, available: 4_500, paidOut: 0 }])
    // A refund while it waits lowers what it will pay: 1,000 less the commission's 100.
    const refund = await orders.call('POST', '/refunds', {
      as: admin(),
      body: { orderId, amount: 1_000, reason: 'scratched' },
      headers: { 'Idempotency-Key': randomUUID() }
    })
    await waitFor(async () => (await orders.db('refunds').where({ id: refund.body.id }).first('status')).status === 'succeeded', {
      what: 'the refund paid back'
    })
    expect((await openAccount(owner)).body.status).toBe('enabled')
    const [paid] = await payoutSettled(orderId, 'paid')
    expect(paid).toMatchObject({ id: waiting.id, amount: 3_600 })
    expect(await orders.db('test_provider_outcomes').where({ idempotencyKey: `${refund.body.id}:reverse` })).toEqual([])
    expect((await sellerLedger(owner)).balances).toEqual([{ currency: 'EUR', held: 0, available: 0, paidOut: 3_600 }])
    expect((await sellerLedger(owner)).orders[0]).toMatchObject({ gross: 5_000, commission: 400, refunds: 1_000, net: 3_600, payoutStatus: 'paid' })
  })

  it('pays once when the answer to a transfer was lost: the retry with its key is answered, not paid again', async () => {
    const owner = await registeredSeller(orders)
    const { orderId, checkoutId } = await completedOrder(owner, 5_000)
    const [waiting] = await payoutSettled(orderId, 'pending')
    // A first attempt reached the provider and its answer was lost (played here before the account is enabled here).
    const provider = new TestPaymentProvider(orders.db, orders.app.get('paymentTestWebhookSecret'))
    const account = await provider.createAccount({
      idempotencyKey: `${owner.sellerId}:test:account`,
      sellerId: owner.sellerId!,
      email: 'x@example.com'
    })
    const { paymentId } = await orders.db('orders').where({ id: orderId }).first('paymentId')
    const lost = await provider.transfer({
      idempotencyKey: `${waiting.id}:transfer`,
      accountId: account.accountId,
      amount: 4_500,
      currency: 'EUR',
      transferGroup: checkoutId,
      sourcePaymentId: paymentId
    })
    expect((await openAccount(owner)).body.status).toBe('enabled')
    const [paid] = await payoutSettled(orderId, 'paid')
    expect(paid.reference).toBe(lost.transferId)
    expect(await transferCalls(waiting.id)).toEqual(['succeeded', 'replayed'])
    expect(await orders.db('test_provider_outcomes').where({ idempotencyKey: `${waiting.id}:transfer` })).toHaveLength(1)
    expect((await sellerLedger(owner)).balances).toEqual([{ currency: 'EUR', held: 0, available: 0, paidOut: 4_500 }])
  })

  it('asks again, with the same key, a provider that could not answer: paid, not failed', async () => {
    const owner = await payableSeller()
    await setTransfers(owner, 'transfers_unavailable_once')
    const { orderId } = await completedOrder(owner, 2_000)
    const [paid] = await payoutSettled(orderId, 'paid')
    expect(await transferCalls(paid.id)).toEqual(['unavailable', 'succeeded'])
    expect(paid.failureReason).toBeNull()
  })

  it('puts a failed transfer back in the seller’s balance, tells them, and pays again once the account is enabled', async () => {
    const owner = await payableSeller()
    await setTransfers(owner, 'transfers_fail')
    const { orderId } = await completedOrder(owner, 20_000)
    const [failed] = await payoutSettled(orderId, 'failed')
    expect(failed).toMatchObject({ amount: 18_000, failureReason: expect.stringMatching(/refused/), reference: null })
    const [told] = await orders.eventsOf('payout.failed', 1, (event) => event.data.orderId === orderId)
    expect(told.data).toMatchObject({ payoutId: failed.id, sellerId: owner.sellerId, amount: 18_000, currency: 'EUR' })
    expect((await sellerLedger(owner)).balances).toEqual([{ currency: 'EUR', held: 0, available: 18_000, paidOut: 0 }])

    const failedOnly = await orders.call('GET', '/payouts?status=failed', { as: admin() })
    expect(failedOnly.body.data.map((payout: { id: string }) => payout.id)).toContain(failed.id)
    expect(failedOnly.body.data.every((payout: { status: string }) => payout.status === 'failed')).toBe(true)

    // The seller fixes their account at the provider, which says so (account.updated).
    await setTransfers(owner, 'enabled')
    const accountId = await accountIdOf(owner)
    await inTransaction((trx) => applyAccountUpdate(orders.app, trx, { accountId, status: 'enabled', requirements: [] }))
    const [, retried] = await payoutSettled(orderId, 'paid', 2)
    expect(retried).toMatchObject({ retryOf: failed.id, amount: 18_000 })
    expect(await transferCalls(retried.id)).toEqual(['succeeded'])
    // Another account.updated pays nothing more.
    await inTransaction((trx) => applyAccountUpdate(orders.app, trx, { accountId, status: 'enabled', requirements: [] }))
    expect(await payoutsOf(orderId)).toHaveLength(2)
    expect((await sellerLedger(owner)).balances).toEqual([{ currency: 'EUR', held: 0, available: 0, paidOut: 18_000 }])
    expect(await trialBalance()).toEqual([{ currency: 'EUR', balance: 0 }])
  })

  it('applies the provider’s signed account.updated webhooks by their order of events: an older one changes nothing', async () => {
    const owner = await payableSeller()
    const accountId = await accountIdOf(owner)
    const provider = new TestPaymentProvider(orders.db, orders.app.get('paymentTestWebhookSecret'))
    const accountUpdated = (status: 'enabled' | 'restricted', requirements: string[], at: string) => {
      const { rawBody, headers } = provider.signWebhook({
        id: `evt_${randomUUID()}`,
        created: Date.parse(at) / 1000,
        type: 'account.updated',
        account: { accountId, status, requirements }
      })
      return fetch(`${orders.url}/payment-webhooks/test`, { method: 'POST', headers, body: rawBody }).then((response) => response.json())
    }
    expect(await accountUpdated('restricted', ['external_account'], '2026-12-01T10:00:00Z')).toEqual({ received: true, handled: true })
    expect(await accountUpdated('enabled', [], '2026-12-01T09:00:00Z')).toEqual({ received: true, handled: true })
    const [account] = (await orders.call('GET', '/payout-accounts', { as: owner })).body.data
    expect(account).toMatchObject({ status: 'restricted', requirements: ['external_account'] })
    // A restricted account's seller's orders wait.
    const { orderId } = await completedOrder(owner, 1_000)
    await payoutSettled(orderId, 'pending')
  })

  it('takes the seller’s share of a refund after the payout back from the transfer, once per refund', async () => {
    const owner = await payableSeller()
    const { orderId } = await completedOrder(owner, 10_000)
    const [payout] = await payoutSettled(orderId, 'paid')
    const refund = await orders.call('POST', '/refunds', {
      as: admin(),
      body: { orderId, amount: 5_000, reason: 'one leg broken' },
      headers: { 'Idempotency-Key': randomUUID() }
    })
    expect(refund.status).toBe(201)
    const [reversed] = await orders.eventsOf('payout.reversed', 1, (event) => event.data.orderId === orderId)
    // The seller's share: 5,000 less the commission's 500.
    expect(reversed.data).toMatchObject({ payoutId: payout.id, amount: 4_500, reason: 'refund' })
    // After paid (3): the reversal asked (4), then made (5).
    expect(reversed.data.version).toBe(5)
    expect(
      await orders
        .db('test_provider_outcomes')
        .where({ idempotencyKey: `${refund.body.id}:reverse` })
        .pluck('amount')
    ).toEqual([4_500])
    expect(await orders.db('payouts').where({ id: payout.id }).first()).toMatchObject({ status: 'paid', reversedAmount: 4_500 })
    // The provider's transfer.reversed for our own reversal changes nothing.
    await inTransaction((trx) => applyTransferReversed(orders.app, trx, { transferId: payout.reference, amount: 4_500 }))
    expect(await orders.db('payouts').where({ id: payout.id }).first('status')).toEqual({ status: 'paid' })

    const ledger = await sellerLedger(owner)
    expect(ledger.balances).toEqual([{ currency: 'EUR', held: 0, available: 0, paidOut: 4_500 }])
    expect(ledger.orders[0]).toMatchObject({ gross: 10_000, commission: 500, refunds: 5_000, net: 4_500, payoutStatus: 'paid' })
    expect(await trialBalance()).toEqual([{ currency: 'EUR', balance: 0 }])
  })

  it('pays again what the provider reverses or fails after paying, and the books stay balanced', async () => {
    const owner = await payableSeller()
    const first = await completedOrder(owner, 3_000)
    const second = await completedOrder(owner, 6_000)
    const [reversedOne] = await payoutSettled(first.orderId, 'paid')
    const [failedOne] = await payoutSettled(second.orderId, 'paid')
    await inTransaction((trx) => applyTransferReversed(orders.app, trx, { transferId: reversedOne.reference, amount: 2_700 }))
    await inTransaction((trx) => applyTransferFailed(orders.app, trx, { transferId: failedOne.reference, reason: 'account_closed' }))
    expect(await orders.db('payouts').where({ id: reversedOne.id }).first('status')).toEqual({ status: 'reversed' })
    expect(await orders.db('payouts').where({ id: failedOne.id }).first()).toMatchObject({ status: 'failed', failureReason: 'account_closed' })
    await orders.eventsOf('payout.reversed', 1, (event) => event.data.payoutId === reversedOne.id && event.data.reason === 'provider')
    await orders.eventsOf('payout.failed', 1, (event) => event.data.payoutId === failedOne.id)
    expect((await sellerLedger(owner)).balances).toEqual([{ currency: 'EUR', held: 0, available: 2_700 + 5_400, paidOut: 0 }])

    await inTransaction((trx) => applyAccountUpdate(orders.app, trx, { accountId: reversedOne.accountId, status: 'enabled', requirements: [] }))
    await payoutSettled(first.orderId, 'paid', 2)
    await payoutSettled(second.orderId, 'paid', 2)
    expect((await sellerLedger(owner)).balances).toEqual([{ currency: 'EUR', held: 0, available: 0, paidOut: 8_100 }])
    expect(await trialBalance()).toEqual([{ currency: 'EUR', balance: 0 }])
  })

  it('shows each seller their own payouts, filtered; admins all; buyers none', async () => {
    const owner = await payableSeller()
    const { orderId } = await completedOrder(owner, 2_000)
    const [payout] = await payoutSettled(orderId, 'paid')
    const own = await orders.call('GET', '/payouts', { as: owner })
    expect(own.body.data).toEqual([expect.objectContaining({ id: payout.id, orderId, amount: 1_800, status: 'paid' })])
    expect(own.body.data[0].accountId).toBeUndefined()
    expect((await orders.call('GET', `/payouts?orderId=${orderId}`, { as: seller() })).body.data).toEqual([])
    expect((await orders.call('GET', '/payouts', { as: buyer() })).status).toBe(403)
    const byOrder = await orders.call('GET', `/payouts?orderId=${orderId}`, { as: admin() })
    expect(byOrder.body.data.map((row: { id: string }) => row.id)).toEqual([payout.id])
    const since = new Date(Date.now() - 60_000).toISOString()
    expect((await orders.call('GET', `/payouts?orderId=${orderId}&createdAt[$gt]=${since}`, { as: owner })).body.total).toBe(1)
    expect((await orders.call('GET', `/payouts?orderId=${orderId}&createdAt[$lt]=${since}`, { as: owner })).body.total).toBe(0)
    expect((await orders.call('GET', `/payouts?status=pending&orderId=${orderId}`, { as: owner })).body.total).toBe(0)
    expect((await orders.call('GET', '/payouts?status=lost', { as: owner })).status).toBe(400)
    expect((await orders.call('GET', '/payouts?accountId=x', { as: admin() })).status).toBe(400)
  })

  it('gives admins the commission earned per day and month; sellers may not see it', async () => {
    const day = await orders.call('GET', '/ledger?view=commission&period=day', { as: admin() })
    const today = new Date().toISOString().slice(0, 10)
    expect(day.body.commission).toEqual(expect.arrayContaining([{ period: today, currency: 'EUR', amount: expect.any(Number) }]))
    expect(day.body.commission[0].amount).toBeGreaterThan(0)
    const month = await orders.call('GET', '/ledger?view=commission&period=month', { as: admin() })
    expect(month.body.commission).toEqual([{ period: today.slice(0, 7), currency: 'EUR', amount: day.body.commission[0].amount }])
    expect((await orders.call('GET', '/ledger?view=commission', { as: seller() })).status).toBe(403)
    expect((await orders.call('GET', '/ledger?period=year', { as: admin() })).status).toBe(400)
    expect(await trialBalance()).toEqual([{ currency: 'EUR', balance: 0 }])
  })
})
