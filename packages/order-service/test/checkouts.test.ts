import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metricValue, waitFor } from '@marketmesh/test-support'
import { purgeExpiredIdempotencyKeys } from '../src/idempotency-keys'
import { buyer, checkoutBody, knownProducts, productCreated, seller, startOrders, type Orders } from './helpers'

let orders: Orders
beforeAll(async () => {
  orders = await startOrders('checkouts')
})
afterAll(() => orders?.close())

/** A checkout with a fresh Idempotency-Key, the one given, or (null) none. */
const checkout = (as: ReturnType<typeof buyer>, body: unknown, key: string | null = randomUUID()) =>
  orders.call('POST', '/checkouts', { as, body, headers: key === null ? {} : { 'Idempotency-Key': key } })

describe('POST /checkouts', () => {
  it('splits a cart of two sellers into two pending orders under one checkout, with one order.created each', async () => {
    const [first, second] = [seller(), seller()]
    const [lamp, shade, table] = await knownProducts(orders, [
      productCreated(first, { price: 2_500, title: 'Lamp' }),
      productCreated(first, { price: 700, title: 'Shade' }),
      productCreated(second, { price: 12_500, title: 'Table' })
    ])
    const customer = buyer()
    const response = await checkout(
      customer,
      checkoutBody([
        { productId: lamp.productId, quantity: 2 },
        { productId: table.productId, quantity: 1 },
        { productId: shade.productId, quantity: 1 },
        { productId: lamp.productId, quantity: 1 }
      ])
    )
    expect(response.status).toBe(201)
    expect(response.body.status).toBe('pending')
    const byseller = Object.fromEntries(response.body.orders.map((order: { sellerId: string }) => [order.sellerId, order]))
    expect(byseller[first.sellerId!]).toMatchObject({ status: 'pending', total: 3 * 2_500 + 700, currency: 'EUR' })
    expect(byseller[second.sellerId!]).toMatchObject({ status: 'pending', total: 12_500, currency: 'EUR' })

    const created = await orders.eventsOf('order.created', 2, (event) => event.data.checkoutId === response.body.id)
    expect(created.map((event) => event.data.orderId).sort()).toEqual(response.body.orders.map((order: { id: string }) => order.id).sort())
    const firstEvent = created.find((event) => event.data.sellerId === first.sellerId)!
    expect(firstEvent.data.lines.sort((a, b) => a.unitPrice - b.unitPrice)).toEqual([
      { productId: shade.productId, quantity: 1, unitPrice: 700 },
      { productId: lamp.productId, quantity: 3, unitPrice: 2_500 }
    ])
    expect(firstEvent.data.buyerId).toBe(customer.id)

    const again = await orders.call('GET', `/checkouts/${response.body.id}`, { as: customer })
    expect(again.body).toEqual({ ...response.body, orders: expect.arrayContaining(response.body.orders) })
    expect((await orders.call('GET', `/checkouts/${response.body.id}`, { as: buyer() })).status).toBe(404)
  })

  it('refuses an unknown, archived or deleted product and mixed currencies with a 400 naming the item, and writes nothing', async () => {
    const owner = seller()
    const [archived, dollars, euros, removed] = await knownProducts(orders, [
      productCreated(owner, { status: 'archived' }),
      productCreated(owner, { currency: 'USD' }),
      productCreated(owner),
      productCreated(owner)
    ])
    await orders.emit('product.deleted', { productId: removed.productId, sellerId: owner.sellerId!, version: 2 })
    const customer = buyer()
    const unknown = randomUUID()
    const cases = [
      {
        items: [
          { productId: euros.productId, quantity: 1 },
          { productId: unknown, quantity: 1 }
        ],
        message: /items\.1\.productId: no product/
      },
      { items: [{ productId: archived.productId, quantity: 1 }], message: /items\.0\.productId: .*not available/ },
      {
        items: [
          { productId: euros.productId, quantity: 1 },
          { productId: dollars.productId, quantity: 1 }
        ],
        message: /one currency \(found EUR, USD\)/
      },
      { items: [{ productId: euros.productId, quantity: 1000 }], message: /items\.0\.quantity/ },
      { items: [], message: /items/ }
    ]
    for (const { items, message } of cases) {
      const response = await checkout(customer, checkoutBody(items))
      expect(response.status, JSON.stringify(items)).toBe(400)
      expect(response.body.message).toMatch(message)
    }
    await new Promise((resolve) => setTimeout(resolve, 300))
    const deleted = await checkout(customer, checkoutBody([{ productId: removed.productId, quantity: 1 }]))
    expect(deleted.body.message).toMatch(/items\.0\.productId: no product/)
    expect(await orders.db('orders').where({ buyerId: customer.id })).toEqual([])
  })

  it('refuses a product of a disabled seller with a 409 naming it, whatever older event arrives late, and sells it again once re-enabled', async () => {
    const owner = seller()
    const account = { userId: owner.id, email: `${owner.id}@example.com`, name: 'Olga', role: 'seller' as const, shopName: 'Oak & Iron' }
    const userAt = (version: number) =>
      waitFor(() => orders.db('users').first('id').where({ id: owner.id, version }), { what: `user version ${version}` })
    await orders.emit('user.registered', { ...account, version: 1, status: 'active' })
    const [other, product] = await knownProducts(orders, [productCreated(seller()), productCreated(owner)])
    await userAt(1)
    const customer = buyer()
    const cart = checkoutBody([
      { productId: other.productId, quantity: 1 },
      { productId: product.productId, quantity: 1 }
    ])

    await orders.emit('user.updated', { ...account, version: 3, status: 'disabled' })
    await userAt(3)
    const updatesBefore = await metricValue(orders.app.get('metrics'), 'events_consumed_total', { type: 'user.updated' })
    // An older event arriving late (version 2, active) changes nothing.
    await orders.emit('user.updated', { ...account, version: 2, status: 'active' })
    await waitFor(async () => (await metricValue(orders.app.get('metrics'), 'events_consumed_total', { type: 'user.updated' })) > updatesBefore, {
      what: 'the late user.updated handled'
    })
    const refused = await checkout(customer, cart)
    expect(refused.status).toBe(409)
    expect(refused.body.message).toBe(`Product ${product.productId} (items.1.productId) cannot be bought: its seller is unavailable`)
    expect(refused.body.data).toEqual({ field: 'items.1.productId', productId: product.productId })
    expect(await orders.db('orders').where({ buyerId: customer.id })).toEqual([])

    await orders.emit('user.updated', { ...account, version: 4, status: 'active' })
    await userAt(4)
    expect((await checkout(customer, cart)).status).toBe(201)
  })

  it('is for buyers only', async () => {
    const owner = seller()
    const [product] = await knownProducts(orders, [productCreated(owner)])
    const body = checkoutBody([{ productId: product.productId, quantity: 1 }])
    expect((await orders.call('POST', '/checkouts', { body, headers: { 'Idempotency-Key': 'k' } })).status).toBe(401)
    expect((await checkout(owner, body)).status).toBe(403)
  })
})

describe('Idempotency-Key', () => {
  const newCart = async () => {
    const [product] = await knownProducts(orders, [productCreated(seller())])
    return checkoutBody([{ productId: product.productId, quantity: 1 }])
  }

  it('is required, 1 to 255 characters', async () => {
    const body = await newCart()
    const customer = buyer()
    const missing = await checkout(customer, body, null)
    expect(missing.status).toBe(400)
    expect(missing.body.message).toMatch(/Idempotency-Key/)
    expect((await checkout(customer, body, 'x'.repeat(256))).status).toBe(400)
    expect(await orders.db('checkouts').where({ buyerId: customer.id })).toEqual([])
  })

  it('replays the stored response for the same key and body, refuses another body with 422, and is scoped to the buyer', async () => {
    const body = await newCart()
    const customer = buyer()
    const key = randomUUID()
    const first = await checkout(customer, body, key)
    expect(first.status).toBe(201)
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    // The same body with its keys in another order is the same request.
    const reordered = { payment: body.payment, shippingAddress: body.shippingAddress, items: body.items }
    const replay = await checkout(customer, reordered, key)
    expect(replay.status).toBe(201)
    expect(replay.body).toEqual(first.body)
    expect(replay.headers.get('idempotent-replayed')).toBe('true')

    const other = await checkout(customer, { ...body, items: [{ ...body.items[0], quantity: 2 }] }, key)
    expect(other.status).toBe(422)
    expect(other.body.message).toMatch(/another request body/)

    const someoneElse = await checkout(buyer(), body, key)
    expect(someoneElse.status).toBe(201)
    expect(someoneElse.body.id).not.toBe(first.body.id)
    expect(await orders.db('checkouts').where({ buyerId: customer.id }).count({ n: '*' })).toEqual([{ n: 1 }])
  })

  it('makes exactly one checkout of 20 concurrent identical requests: the others get 409 while it runs, or its replay', async () => {
    const body = await newCart()
    const customer = buyer()
    const key = randomUUID()
    const responses = await Promise.all(Array.from({ length: 20 }, () => checkout(customer, body, key)))
    const created = responses.filter((response) => response.status === 201)
    expect(responses.every((response) => [201, 409].includes(response.status))).toBe(true)
    expect(new Set(created.map((response) => response.body.id)).size).toBe(1)
    expect(created.filter((response) => response.headers.get('idempotent-replayed') === null)).toHaveLength(1)
    for (const conflict of responses.filter((response) => response.status === 409)) expect(conflict.body.message).toMatch(/still in progress/)
    expect(await orders.db('checkouts').where({ buyerId: customer.id }).count({ n: '*' })).toEqual([{ n: 1 }])
    expect(await orders.db('orders').where({ buyerId: customer.id }).count({ n: '*' })).toEqual([{ n: 1 }])
  })

  it('forgets a key after IDEMPOTENCY_KEY_TTL: expired keys are purged and the key makes a new checkout', async () => {
    const body = await newCart()
    const customer = buyer()
    const key = randomUUID()
    const first = await checkout(customer, body, key)
    await orders
      .db('idempotency_keys')
      .where({ buyerId: customer.id, key })
      .update({ expiresAt: orders.db.raw("now() - interval '1 second'") })
    expect(await purgeExpiredIdempotencyKeys(orders.db)).toBeGreaterThanOrEqual(1)
    expect(await orders.db('idempotency_keys').where({ buyerId: customer.id })).toEqual([])
    const later = await checkout(customer, body, key)
    expect(later.status).toBe(201)
    expect(later.body.id).not.toBe(first.body.id)
  })
})

describe('REQUIRE_VERIFIED_EMAIL', () => {
  let strict: Orders
  beforeAll(async () => {
    strict = await startOrders('checkouts_verified', { requireVerifiedEmail: true })
  })
  afterAll(() => strict?.close())

  it('lets only a buyer whose access token says email_verified check out; the others get 403 and nothing is written', async () => {
    const [lamp] = await knownProducts(strict, [productCreated(seller())])
    const body = checkoutBody([{ productId: lamp.productId, quantity: 1 }])
    const post = (as: ReturnType<typeof buyer>) => strict.call('POST', '/checkouts', { as, body, headers: { 'Idempotency-Key': randomUUID() } })
    for (const unverified of [{ ...buyer(), emailVerified: false }, buyer()]) {
      const refused = await post(unverified)
      expect(refused.status).toBe(403)
      expect(refused.body.message).toMatch(/Verify your email address/)
    }
    expect(Number((await strict.app.get('postgresqlClient')('orders').count({ n: '*' }).first())?.n)).toBe(0)
    expect((await post({ ...buyer(), emailVerified: true })).status).toBe(201)
  })
})
