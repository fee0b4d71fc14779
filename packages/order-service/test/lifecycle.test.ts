import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen, type Principal } from '@marketmesh/shared'
import { waitFor } from '@marketmesh/test-support'
import { createApp } from '../src/app'
import { admin, buyer, checkoutBody, knownProducts, productCreated, seller, startOrders, type Orders } from './helpers'

let orders: Orders
beforeAll(async () => {
  orders = await startOrders('lifecycle', { sideEffects: { pollIntervalMs: 100 }, escrowReleaseAfter: '0', commissionPercent: 10 })
})
afterAll(() => orders?.close())

const statusOf = async (target: Orders, orderId: string) => (await target.db('orders').where({ id: orderId }).first('status')).status

/** A checkout of one product; the catalog's reservation played by the test bus, so the order gets paid. */
const paidOrder = async (target: Orders, price = 10_000, customer = buyer(), owner = seller(), token = 'tok_ok') => {
  const [product] = await knownProducts(target, [productCreated(owner, { price })])
  const placed = await target.call('POST', '/checkouts', {
    as: customer,
    body: checkoutBody([{ productId: product.productId, quantity: 1 }], token),
    headers: { 'Idempotency-Key': randomUUID() }
  })
  const orderId: string = placed.body.orders[0].id
  await target.emit('stock.reserved', {
    orderId,
    checkoutId: placed.body.id,
    currency: 'EUR',
    lines: [{ productId: product.productId, quantity: 1, unitPrice: price }]
  })
  await waitFor(async () => (await statusOf(target, orderId)) === 'paid', { what: 'the order paid' })
  return { orderId, customer, owner, product }
}

/** The order's events as the bus received them, by the revision each carries. */
const revisionsOf = (orderId: string) =>
  orders.received
    .filter((event) => (event.data as { orderId?: string }).orderId === orderId && event.type.startsWith('order.'))
    .map((event) => [event.type, (event.data as { version: number }).version])
    .sort((one, other) => (one[1] as number) - (other[1] as number))

const patch = (orderId: string, as: Principal, body: Record<string, unknown>) => orders.call('PATCH', `/orders/${orderId}`, { as, body })

const sellerLedger = async (owner: Principal) => (await orders.call('GET', '/ledger', { as: owner })).body
const trialBalance = async () => (await orders.call('GET', '/ledger', { as: admin() })).body.trialBalance

describe('the order lifecycle', () => {
  it('charges the total the checkout quoted, whatever unit prices a stock.reserved names', async () => {
    const [product] = await knownProducts(orders, [productCreated(seller(), { price: 2_000 })])
    const customer = buyer()
    const placed = await orders.call('POST', '/checkouts', {
      as: customer,
      body: checkoutBody([{ productId: product.productId, quantity: 3 }]),
      headers: { 'Idempotency-Key': randomUUID() }
    })
    const orderId: string = placed.body.orders[0].id
    await orders.emit('stock.reserved', {
      orderId,
      checkoutId: placed.body.id,
      currency: 'EUR',
      lines: [{ productId: product.productId, quantity: 3, unitPrice: 2_500 }]
    })
    await waitFor(async () => (await statusOf(orders, orderId)) === 'paid', { what: 'the order paid' })
    const order = (await orders.call('GET', `/orders/${orderId}`, { as: customer })).body
    expect(order).toMatchObject({ total: 6_000, lines: [{ productId: product.productId, quantity: 3, unitPrice: 2_000 }] })
    expect(
      await orders.db('test_provider_outcomes').where('idempotencyKey', 'like', `${placed.body.id}:%`).orderBy('operation').pluck('amount')
    ).toEqual([6_000, 6_000])
  })

  it('handles reservations arriving together in shared transactions, and captures each checkout of two shops once', async () => {
    const [lamp, chair] = await knownProducts(orders, [productCreated(seller(), { price: 1_000 }), productCreated(seller(), { price: 2_000 })])
    const placed: Array<{ id: string; orders: Array<{ id: string }> }> = []
    for (let i = 0; i < 10; i++) {
      const answer = await orders.call('POST', '/checkouts', {
        as: buyer(),
        body: checkoutBody([
          { productId: lamp.productId, quantity: 1 },
          { productId: chair.productId, quantity: 1 }
        ]),
        headers: { 'Idempotency-Key': randomUUID() }
      })
      placed.push(answer.body)
    }
    const line = { productId: lamp.productId, quantity: 1, unitPrice: 1_000 }
    const reserved = await orders.emitAll(
      'stock.reserved',
      placed.flatMap((checkout) => checkout.orders.map((order) => ({ orderId: order.id, checkoutId: checkout.id, currency: 'EUR', lines: [line] })))
    )
    const orderIds = placed.flatMap((checkout) => checkout.orders.map((order) => order.id))
    await waitFor(async () => (await orders.db('orders').whereIn('id', orderIds).where({ status: 'paid' })).length === 20, { what: '20 orders paid' })
    for (const checkout of placed) {
      const captures = await orders.db('test_provider_outcomes').where('idempotencyKey', 'like', `${checkout.id}:%`).where({ operation: 'capture' })
      expect(captures.map(({ amount }) => amount)).toEqual([3_000])
    }
    // A batch's dedupe rows share its transaction: 20 events in fewer than 20 transactions (one each before).
    const [{ transactions }] = (
      await orders.db.raw('SELECT count(DISTINCT xmin::text)::int AS transactions FROM processed_events WHERE event_id = ANY(?::uuid[])', [
        reserved.map((event) => event.id)
      ])
    ).rows
    expect(transactions).toBeLessThan(20)
  })

  it('goes paid → shipped → delivered → completed: the escrow released to the seller less the commission, the books balanced', async () => {
    const { orderId, customer, owner } = await paidOrder(orders, 10_005)
    expect(await sellerLedger(owner)).toMatchObject({ balances: [{ currency: 'EUR', held: 10_005, available: 0 }] })

    const shipped = await patch(orderId, owner, { status: 'shipped', trackingNumber: 'DHL-123' })
    expect(shipped.body).toMatchObject({ status: 'shipped', trackingNumber: 'DHL-123' })
    expect((await patch(orderId, customer, { status: 'delivered' })).body.status).toBe('delivered')
    await waitFor(async () => (await statusOf(orders, orderId)) === 'completed', { what: 'the escrow released' })

    const [completed] = await orders.eventsOf('order.completed', 1, (event) => event.data.orderId === orderId)
    // 10 % of 10,005 is 1,000.5: rounded half up to 1,001.
    expect(completed.data).toMatchObject({ payout: 9_004, commission: 1_001, currency: 'EUR' })
    expect(await sellerLedger(owner)).toMatchObject({ balances: [{ currency: 'EUR', held: 0, available: 9_004 }] })
    expect(await trialBalance()).toEqual([{ currency: 'EUR', balance: 0 }])
    const order = (await orders.call('GET', `/orders/${orderId}`, { as: customer })).body
    expect(order.timeline.map((step: { to: string; by: string }) => [step.to, step.by])).toEqual([
      ['pending', customer.id],
      ['paid', 'system'],
      ['shipped', owner.id],
      ['delivered', customer.id],
      ['completed', 'system']
    ])
    const delivered = await orders.eventsOf('order.delivered', 1, (event) => event.data.orderId === orderId)
    expect(delivered[0].data.productIds).toHaveLength(1)
    // Each event carries the order's revision after its change: what a receiver orders them by.
    expect(revisionsOf(orderId)).toEqual([
      ['order.created', 1],
      ['order.paid', 2],
      ['order.shipped', 3],
      ['order.delivered', 4],
      ['order.completed', 5]
    ])
    expect((await orders.db('orders').where({ id: orderId }).first('version')).version).toBe(5)
    // The pending timeout and the auto-deliver timer went with the steps that made them moot, the
    // payment's expiry with its capture; none is left waiting.
    expect(await orders.db('side_effects').where({ key: orderId }).orderBy('kind').pluck('kind')).toEqual(['order-release-escrow'])
    const { checkoutId } = await orders.db('orders').where({ id: orderId }).first('checkoutId')
    // The capture is the authorization's own when the reservation came first, an effect of its own when it came last.
    expect([['payment-authorize'], ['payment-authorize', 'payment-capture']]).toContainEqual(
      await orders.db('side_effects').where({ key: checkoutId }).orderBy('kind').pluck('kind')
    )
  })

  it('refuses steps out of turn with 409 naming the status, others’ steps with 403, and others’ orders with 404', async () => {
    const { orderId, customer, owner } = await paidOrder(orders)
    expect((await patch(orderId, customer, { status: 'shipped' })).status).toBe(403)
    const early = await patch(orderId, customer, { status: 'delivered' })
    expect(early.status).toBe(409)
    expect(early.body.message).toMatch(/is paid: it cannot become delivered/)
    expect((await patch(orderId, seller(), { status: 'shipped' })).status).toBe(404)
    expect((await patch(orderId, buyer(), { status: 'cancelled' })).status).toBe(404)
    expect((await patch(orderId, owner, { status: 'completed' })).status).toBe(400)
    await patch(orderId, owner, { status: 'shipped' })
    const late = await patch(orderId, customer, { status: 'cancelled' })
    expect(late.status).toBe(409)
    expect(late.body.message).toMatch(/is shipped: it cannot become cancelled/)
  })

  it('refunds a paid order cancelled by its buyer, in full, once, from escrow', async () => {
    const { orderId, customer, owner } = await paidOrder(orders, 4_200)
    const cancelled = await patch(orderId, customer, { status: 'cancelled' })
    expect(cancelled.body).toMatchObject({ status: 'cancelled', reason: 'cancelled_by_buyer' })
    const [refunded] = await orders.eventsOf('order.refunded', 1, (event) => event.data.orderId === orderId)
    expect(refunded.data).toMatchObject({ amount: 4_200, currency: 'EUR' })
    await orders.eventsOf('order.cancelled', 1, (event) => event.data.orderId === orderId)
    // The money paid back is a change of its own: one revision after the cancel.
    expect(revisionsOf(orderId)).toEqual([
      ['order.created', 1],
      ['order.paid', 2],
      ['order.cancelled', 3],
      ['order.refunded', 4]
    ])
    expect(await orders.db('test_provider_calls').where('idempotencyKey', 'like', `${orderId}:refund:%`).pluck('result')).toEqual(['succeeded'])
    expect(await sellerLedger(owner)).toMatchObject({ balances: [{ currency: 'EUR', held: 0, available: 0 }] })
    expect(await trialBalance()).toEqual([{ currency: 'EUR', balance: 0 }])
  })

  it('reverses the seller’s credit and the commission in proportion for a partial refund after completion, never above what was paid', async () => {
    const { orderId, customer, owner } = await paidOrder(orders, 10_000)
    await patch(orderId, owner, { status: 'shipped' })
    await patch(orderId, customer, { status: 'delivered' })
    await waitFor(async () => (await statusOf(orders, orderId)) === 'completed', { what: 'completed' })
    const operator = admin()

    const partial = await orders.call('POST', '/refunds', {
      as: operator,
      body: { orderId, amount: 5_000, reason: 'one of two legs broken' },
      headers: { 'Idempotency-Key': randomUUID() }
    })
    expect(partial.status).toBe(201)
    expect(partial.body).toMatchObject({ orderId, amount: 5_000, status: 'pending' })
    await waitFor(async () => (await orders.db('refunds').where({ id: partial.body.id }).first('status')).status === 'succeeded', {
      what: 'the refund'
    })
    // Payout 9,000 and commission 1,000: half of each comes back.
    expect(await sellerLedger(owner)).toMatchObject({ balances: [{ currency: 'EUR', held: 0, available: 4_500 }] })
    const commission = (await orders.call('GET', '/ledger', { as: operator })).body.accounts
    expect(await trialBalance()).toEqual([{ currency: 'EUR', balance: 0 }])
    expect(commission.find((row: { account: string }) => row.account === 'refunds').balance).toBeLessThanOrEqual(-5_000)
    expect(await statusOf(orders, orderId)).toBe('completed')

    const tooMuch = await orders.call('POST', '/refunds', {
      as: operator,
      body: { orderId, amount: 6_000, reason: 'again' },
      headers: { 'Idempotency-Key': randomUUID() }
    })
    expect(tooMuch.status).toBe(400)
    expect(tooMuch.body.message).toMatch(/amount: must be at most 5000/)
    expect(
      (await orders.call('POST', '/refunds', { as: customer, body: { orderId, reason: 'mine' }, headers: { 'Idempotency-Key': randomUUID() } }))
        .status
    ).toBe(403)
    const rest = await orders.call('POST', '/refunds', {
      as: operator,
      body: { orderId, reason: 'the rest' },
      headers: { 'Idempotency-Key': randomUUID() }
    })
    expect(rest.body.amount).toBe(5_000)
    await waitFor(async () => (await statusOf(orders, orderId)) === 'refunded', { what: 'refunded in full' })
    expect(await sellerLedger(owner)).toMatchObject({ balances: [{ currency: 'EUR', held: 0, available: 0 }] })
    const listed = await orders.call('GET', `/refunds?orderId=${orderId}`, { as: operator })
    expect(listed.body.total).toBe(2)
  })

  it('keeps ledger entries immutable and journals balanced, in the database itself', async () => {
    await paidOrder(orders)
    await expect(orders.db('ledger_entries').update({ amount: 1 })).rejects.toThrow(/append-only/)
    await expect(orders.db('ledger_entries').delete()).rejects.toThrow(/append-only/)
    await expect(
      orders.db.transaction(async (trx) => {
        const [journal] = await trx('ledger_journals')
          .insert({ id: randomUUID(), orderId: randomUUID(), kind: 'bogus', currency: 'EUR' })
          .returning('id')
        await trx('ledger_entries').insert({ journalId: journal.id, account: 'escrow', amount: 5 })
      })
    ).rejects.toThrow(/does not balance/)
  })
})

describe('durable timers with two instances', () => {
  it('cancels a pending order at its timeout once, auto-delivers a shipped one, whichever instance fires', async () => {
    const timers = await startOrders('timers', { orderPendingTimeout: '1s', autoDeliverAfter: '1s', sideEffects: { pollIntervalMs: 50 } })
    const secondApp = createApp(timers.settings)
    const server = await listen(secondApp, 0)
    try {
      expect((server.address() as AddressInfo).port).toBeGreaterThan(0)
      const [product] = await knownProducts(timers, [productCreated(seller())])
      const customer = buyer()
      const placed = await timers.call('POST', '/checkouts', {
        as: customer,
        body: checkoutBody([{ productId: product.productId, quantity: 1 }]),
        headers: { 'Idempotency-Key': randomUUID() }
      })
      const orderId = placed.body.orders[0].id
      await waitFor(async () => (await statusOf(timers, orderId)) === 'cancelled', { what: 'the timeout', timeoutMs: 10_000 })
      await new Promise((resolve) => setTimeout(resolve, 500))
      const steps = await timers.db('order_timeline').where({ orderId }).pluck('to')
      expect(steps).toEqual(['pending', 'cancelled'])
      expect(await timers.db('orders').where({ id: orderId }).first('reason')).toEqual({ reason: 'timeout' })
      expect(
        await timers.db('outbox').where({ type: 'order.cancelled' }).whereRaw("envelope->'data'->>'orderId' = ?", [orderId]).count({ n: '*' })
      ).toEqual([{ n: 1 }])

      const { orderId: shippedId, owner } = await paidOrder(timers)
      await timers.call('PATCH', `/orders/${shippedId}`, { as: owner, body: { status: 'shipped' } })
      await waitFor(async () => ['delivered', 'completed'].includes(await statusOf(timers, shippedId)), {
        what: 'the auto-delivery',
        timeoutMs: 10_000
      })
      expect((await timers.db('order_timeline').where({ orderId: shippedId, to: 'delivered' }).first('by')).by).toBe('system')
    } finally {
      await secondApp.teardown()
      server.close()
      await timers.close()
    }
  })
})

describe('the answers', () => {
  it('answered everything above as order-service’s OpenAPI document says', async () => {
    expect(await orders.undocumentedAnswers()).toEqual([])
    expect(orders.answerCount()).toBeGreaterThan(10)
  })
})
