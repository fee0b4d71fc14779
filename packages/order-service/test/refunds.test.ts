import { randomUUID } from 'node:crypto'
import knex, { type Knex } from 'knex'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Principal } from '@marketmesh/shared'
import { cleanUp, isolatedEnvironment, startServiceProcess, waitFor, type ServiceProcess } from '@marketmesh/test-support'
import { admin, buyer, callProcess, checkoutBody, seller, startOrders, type Orders } from './helpers'

// Refunds across real processes: catalog-service runs as its own process on the same broker
// prefix, so its stock shows what each refund's events do to it.
const env = isolatedEnvironment('refunds')
let catalog: ServiceProcess
let catalogDb: Knex
let orders: Orders
beforeAll(async () => {
  catalog = await startServiceProcess('catalog-service', env)
  catalogDb = knex({ client: 'pg', connection: env.DATABASE_URL, pool: { min: 0, max: 1 } })
  orders = await startOrders('refunds', {
    amqp: { prefix: env.AMQP_PREFIX },
    sideEffects: { pollIntervalMs: 100 },
    escrowReleaseAfter: '0',
    commissionPercent: 10
  })
})
afterAll(async () => {
  catalog?.child.kill('SIGTERM')
  await catalog?.exited
  await catalogDb?.destroy()
  await orders?.close()
  await cleanUp({ databases: [env.DATABASE_URL] })
})

const catalogCall = (method: string, path: string, as: Principal, body?: unknown) => callProcess(catalog, method, path, as, body)

const stockOf = async (productId: string) => (await catalogDb('products').where({ id: productId }).first('stock')).stock as number

/** A product with 5 in stock, and an order of `quantity` of it paid (the catalog reserved the stock). */
const paidOrder = async (quantity = 2, price = 4_000) => {
  const owner = seller()
  const product = await catalogCall('POST', '/products', owner, { title: 'Brass lamp', price, currency: 'EUR', stock: 5 })
  await waitFor(() => orders.db('products').where({ id: product.id }).first('id'), { what: 'the product in the read model' })
  const customer = buyer()
  const placed = await orders.call('POST', '/checkouts', {
    as: customer,
    body: checkoutBody([{ productId: product.id, quantity }]),
    headers: { 'Idempotency-Key': randomUUID() }
  })
  expect(placed.status).toBe(201)
  const orderId: string = placed.body.orders[0].id
  await waitFor(async () => (await statusOf(orderId)) === 'paid', { what: 'the order paid', timeoutMs: 30_000 })
  expect(await stockOf(product.id)).toBe(5 - quantity)
  return { orderId, productId: product.id as string, customer, owner }
}

const statusOf = async (orderId: string) => (await orders.db('orders').where({ id: orderId }).first('status')).status

const patch = (orderId: string, as: Principal, body: Record<string, unknown>) => orders.call('PATCH', `/orders/${orderId}`, { as, body })

const completed = async ({ orderId, customer, owner }: { orderId: string; customer: Principal; owner: Principal }) => {
  await patch(orderId, owner, { status: 'shipped' })
  await patch(orderId, customer, { status: 'delivered' })
  await waitFor(async () => (await statusOf(orderId)) === 'completed', { what: 'the escrow released' })
}

const refund = (operator: Principal, body: Record<string, unknown>, key: string = randomUUID()) =>
  orders.call('POST', '/refunds', { as: operator, body, headers: { 'Idempotency-Key': key } })

const succeeded = (refundId: string) =>
  waitFor(async () => (await orders.db('refunds').where({ id: refundId }).first('status')).status === 'succeeded', { what: 'the refund paid' })

/** Every order.refunded of the order, once the catalog has handled them all. */
const refundsHandledByCatalog = async (orderId: string, count: number) => {
  const events = await orders.eventsOf('order.refunded', count, (event) => event.data.orderId === orderId)
  const ids = events.map((event) => event.id)
  await waitFor(async () => (await catalogDb('processed_events').whereIn('event_id', ids)).length === ids.length, {
    what: 'the catalog to handle the refunds'
  })
  return events
}

const providerRefunds = (orderId: string) => orders.db('test_provider_calls').where('idempotencyKey', 'like', `${orderId}:refund:%`).pluck('result')

/** The commission's entries of an order: what it got at the release less what refunds took back. */
const commissionOf = async (orderId: string) => {
  const [{ sum }] = await orders
    .db('ledger_entries')
    .join('ledger_journals', 'ledger_journals.id', 'ledger_entries.journalId')
    .where({ 'ledger_journals.orderId': orderId, 'ledger_entries.account': 'commission' })
    .select(orders.db.raw('coalesce(-sum(amount), 0)::int AS sum'))
  return sum as number
}

const trialBalance = async () => (await orders.call('GET', '/ledger', { as: admin() })).body.trialBalance

describe('refunds and stock', () => {
  it('keeps the stock sold for a refund after delivery, even one of everything paid: money only', async () => {
    const placed = await paidOrder(2)
    await completed(placed)
    const operator = admin()
    const goodwill = await refund(operator, { orderId: placed.orderId, amount: 100, reason: 'goodwill' })
    expect(goodwill.status).toBe(201)
    await succeeded(goodwill.body.id)
    const rest = await refund(operator, { orderId: placed.orderId, reason: 'returned by post' })
    await succeeded(rest.body.id)

    const events = await refundsHandledByCatalog(placed.orderId, 2)
    expect(events.map((event) => event.data.restock)).toEqual([false, false])
    expect(await statusOf(placed.orderId)).toBe('refunded')
    expect(await stockOf(placed.productId)).toBe(3)
    expect(await catalogDb('reservations').where({ orderId: placed.orderId }).whereNotNull('releasedAt')).toEqual([])
  })

  it('gives the stock back once when a paid order never shipped is refunded in full by an admin, not for a part of it', async () => {
    const placed = await paidOrder(2)
    const operator = admin()
    const part = await refund(operator, { orderId: placed.orderId, amount: 1_000, reason: 'price match' })
    await succeeded(part.body.id)
    await refundsHandledByCatalog(placed.orderId, 1)
    expect(await stockOf(placed.productId)).toBe(3)
    expect(await statusOf(placed.orderId)).toBe('paid')

    const rest = await refund(operator, { orderId: placed.orderId, reason: 'out of stock at the warehouse' })
    await succeeded(rest.body.id)
    const events = await refundsHandledByCatalog(placed.orderId, 2)
    expect(events.map((event) => event.data.restock)).toEqual([false, true])
    expect(await statusOf(placed.orderId)).toBe('refunded')
    await waitFor(async () => (await stockOf(placed.productId)) === 5, { what: 'the stock back in the catalog' })
  })

  it('refuses to ship an order refunded in full while the provider is still paying it back', async () => {
    const placed = await paidOrder(1)
    // A refund of everything, pending: its provider has not answered yet.
    await orders
      .db('refunds')
      .insert({ id: randomUUID(), orderId: placed.orderId, amount: 4_000, currency: 'EUR', reason: 'void', by: 'system', status: 'pending' })
    const shipped = await patch(placed.orderId, placed.owner, { status: 'shipped' })
    expect(shipped.status).toBe(409)
    expect(shipped.body.message).toMatch(/is refunded in full: it cannot become shipped/)
    expect(await statusOf(placed.orderId)).toBe('paid')
  })

  it('gives the stock of a paid order cancelled before shipping back once, and its buyer sees the money come back', async () => {
    const placed = await paidOrder(3)
    const cancelled = await patch(placed.orderId, placed.customer, { status: 'cancelled' })
    expect(cancelled.body).toMatchObject({ status: 'cancelled', refunded: 0, refunds: [{ amount: 12_000, status: 'pending' }] })
    const [event] = await refundsHandledByCatalog(placed.orderId, 1)
    expect(event.data.restock).toBe(false)
    await waitFor(async () => (await stockOf(placed.productId)) === 5, { what: 'the stock back in the catalog' })
    expect(await catalogDb('reservations').where({ orderId: placed.orderId }).whereNotNull('releasedAt')).toHaveLength(1)

    const seen = (await orders.call('GET', `/orders/${placed.orderId}`, { as: placed.customer })).body
    expect(seen).toMatchObject({ status: 'cancelled', refunded: 12_000 })
    expect(seen.refunds).toEqual([
      { id: expect.any(String), amount: 12_000, currency: 'EUR', status: 'succeeded', reason: 'cancelled_by_buyer', createdAt: expect.any(String) }
    ])
  })
})

describe('POST /refunds with an Idempotency-Key', () => {
  it('pays a retried partial refund back once, replays its answer, and refuses the key with another body', async () => {
    const placed = await paidOrder(1)
    const operator = admin()
    const key = randomUUID()
    const body = { orderId: placed.orderId, amount: 500, reason: 'scratched' }
    const first = await refund(operator, body, key)
    expect(first.status).toBe(201)
    const retried = await refund(operator, { reason: 'scratched', amount: 500, orderId: placed.orderId }, key)
    expect(retried.status).toBe(201)
    expect(retried.headers.get('Idempotent-Replayed')).toBe('true')
    expect(retried.body.id).toBe(first.body.id)
    expect((await refund(operator, { ...body, amount: 600 }, key)).status).toBe(422)
    // The key is the admin's own: another admin's same key is a refund of its own.
    const other = await refund(admin(), body, key)
    expect(other.body.id).not.toBe(first.body.id)
    await succeeded(first.body.id)
    await succeeded(other.body.id)

    expect(await orders.db('refunds').where({ orderId: placed.orderId }).pluck('amount')).toEqual([500, 500])
    expect(await providerRefunds(placed.orderId)).toEqual(['succeeded', 'succeeded'])
    const missing = await orders.call('POST', '/refunds', { as: operator, body })
    expect(missing.status).toBe(400)
    expect(missing.body.message).toMatch(/Idempotency-Key/)
  })
})

describe('commission reversal', () => {
  it('reverses as much commission for three refunds of 0.05 as for one of 0.15, and all of it for a refund of everything', async () => {
    // 10 % of 10,005 is 1,001 (rounded half up); 0.05 of it is 0.5003 of a cent, 0.15 is 1.5008.
    const inParts = await paidOrder(1, 10_005)
    const atOnce = await paidOrder(1, 10_005)
    await Promise.all([completed(inParts), completed(atOnce)])
    const operator = admin()
    for (let part = 0; part < 3; part += 1) await succeeded((await refund(operator, { orderId: inParts.orderId, amount: 5, reason: 'part' })).body.id)
    await succeeded((await refund(operator, { orderId: atOnce.orderId, amount: 15, reason: 'whole' })).body.id)
    expect(await commissionOf(atOnce.orderId)).toBe(1_001 - 2)
    expect(await commissionOf(inParts.orderId)).toBe(1_001 - 2)
    expect(await trialBalance()).toEqual([{ currency: 'EUR', balance: 0 }])

    await succeeded((await refund(operator, { orderId: inParts.orderId, reason: 'the rest' })).body.id)
    expect(await commissionOf(inParts.orderId)).toBe(0)
    const seller = (await orders.call('GET', '/ledger', { as: inParts.owner })).body
    expect(seller).toMatchObject({ balances: [{ currency: 'EUR', held: 0, available: 0 }] })
    expect(await trialBalance()).toEqual([{ currency: 'EUR', balance: 0 }])
  })
})

describe('who sees refunds', () => {
  it('shows buyers and sellers the refunds of their own orders, without who asked or the provider reference; others nothing', async () => {
    const placed = await paidOrder(1)
    const operator = admin()
    const made = await refund(operator, { orderId: placed.orderId, amount: 700, reason: 'late delivery' })
    await succeeded(made.body.id)
    const expected = { id: made.body.id, orderId: placed.orderId, amount: 700, currency: 'EUR', status: 'succeeded', reason: 'late delivery' }

    for (const reader of [placed.customer, placed.owner]) {
      for (const path of [`/refunds?orderId=${placed.orderId}`, '/refunds']) {
        const listed = await orders.call('GET', path, { as: reader })
        expect(listed.status).toBe(200)
        expect(listed.body.total).toBe(1)
        expect(listed.body.data[0]).toEqual({ ...expected, createdAt: expect.any(String) })
      }
      const order = (await orders.call('GET', `/orders/${placed.orderId}`, { as: reader })).body
      expect(order).toMatchObject({ refunded: 700, refunds: [{ id: made.body.id, amount: 700, status: 'succeeded', reason: 'late delivery' }] })
    }
    for (const stranger of [buyer(), seller()]) {
      const listed = await orders.call('GET', `/refunds?orderId=${placed.orderId}`, { as: stranger })
      expect(listed.body).toMatchObject({ total: 0, data: [] })
      expect((await orders.call('GET', `/orders/${placed.orderId}`, { as: stranger })).status).toBe(404)
    }
    const asAdmin = await orders.call('GET', `/refunds?orderId=${placed.orderId}`, { as: operator })
    expect(asAdmin.body.data[0]).toMatchObject({ ...expected, by: operator.id, refundReference: expect.stringMatching(/^test_refund_/) })
    expect((await orders.call('GET', '/refunds')).status).toBe(401)
  })
})

describe('the answers', () => {
  it('answered everything above as order-service’s OpenAPI document says', async () => {
    expect(await orders.undocumentedAnswers()).toEqual([])
    expect(orders.answerCount()).toBeGreaterThan(10)
  })
})
