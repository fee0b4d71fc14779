import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metricValue, waitFor } from '@marketmesh/test-support'
import { admin, buyer, checkoutBody, knownProducts, productCreated, seller, startOrders, type Orders } from './helpers'

let orders: Orders
beforeAll(async () => {
  orders = await startOrders('orders')
})
afterAll(() => orders?.close())

const placeOrder = async (customer = buyer(), owner = seller()) => {
  const [product] = await knownProducts(orders, [productCreated(owner, { title: 'Teapot', price: 3_000 })])
  const response = await orders.call('POST', '/checkouts', {
    as: customer,
    body: checkoutBody([{ productId: product.productId, quantity: 2 }]),
    headers: { 'Idempotency-Key': randomUUID() }
  })
  return { customer, owner, product, orderId: response.body.orders[0].id as string }
}

describe('GET /orders', () => {
  it('shows an order with its lines and timeline to its buyer, its seller and admins, and 404 to anyone else', async () => {
    const { customer, owner, product, orderId } = await placeOrder()
    for (const principal of [customer, owner, admin()]) {
      const response = await orders.call('GET', `/orders/${orderId}`, { as: principal })
      expect(response.status).toBe(200)
      expect(response.body).toMatchObject({
        id: orderId,
        buyerId: customer.id,
        sellerId: owner.sellerId,
        status: 'pending',
        total: 6_000,
        currency: 'EUR',
        lines: [{ productId: product.productId, title: 'Teapot', quantity: 2, unitPrice: 3_000 }],
        timeline: [{ from: null, to: 'pending', by: customer.id, reason: null, at: expect.any(String) }]
      })
    }
    for (const stranger of [buyer(), seller()]) expect((await orders.call('GET', `/orders/${orderId}`, { as: stranger })).status).toBe(404)
    expect((await orders.call('GET', `/orders/${orderId}`)).status).toBe(401)
  })

  it('lists only the caller’s orders, filtered and paginated', async () => {
    const customer = buyer()
    const owner = seller()
    const placed = [await placeOrder(customer, owner), await placeOrder(customer), await placeOrder(buyer(), owner)]
    const mine = await orders.call('GET', '/orders?$sort[createdAt]=1', { as: customer })
    expect(mine.body.total).toBe(2)
    expect(mine.body.data.map((order: { id: string }) => order.id)).toEqual([placed[0].orderId, placed[1].orderId])
    const shop = await orders.call('GET', `/orders?status=pending`, { as: owner })
    expect(shop.body.data.map((order: { id: string }) => order.id).sort()).toEqual([placed[0].orderId, placed[2].orderId].sort())
    // A buyer naming another buyer still sees only their own orders.
    const spying = await orders.call('GET', `/orders?buyerId=${placed[2].customer.id}`, { as: customer })
    expect(spying.body.data.map((order: { buyerId: string }) => order.buyerId)).toEqual([customer.id, customer.id])
    const filtered = await orders.call('GET', `/orders?sellerId=${owner.sellerId}&$limit=1`, { as: admin() })
    expect(filtered.body).toMatchObject({ total: 2, limit: 1 })
    expect((await orders.call('GET', '/orders?paymentToken=tok_ok', { as: admin() })).status).toBe(400)
  })

  it('pages newest first, orders written together in their id’s order: each order on exactly one page', async () => {
    const customer = buyer()
    const earlier = await placeOrder(customer)
    // One checkout from five shops: five orders written in one transaction, one `createdAt`.
    const products = await knownProducts(
      orders,
      Array.from({ length: 5 }, () => productCreated(seller(), { price: 1_000 }))
    )
    const checkout = await orders.call('POST', '/checkouts', {
      as: customer,
      body: checkoutBody(products.map(({ productId }) => ({ productId, quantity: 1 }))),
      headers: { 'Idempotency-Key': randomUUID() }
    })
    expect(checkout.status).toBe(201)
    const together: string[] = checkout.body.orders.map((order: { id: string }) => order.id)
    const paged: string[] = []
    for (let skip = 0; skip < 6; skip++) {
      const page = await orders.call('GET', `/orders?$limit=1&$skip=${skip}`, { as: customer })
      paged.push(...page.body.data.map((order: { id: string }) => order.id))
    }
    expect(paged).toEqual([...together.sort().reverse(), earlier.orderId])
    // Sorted by a field they share, still in one order: the id's, in the sort's direction.
    const ascending = await orders.call('GET', '/orders?$sort[createdAt]=1', { as: customer })
    expect(ascending.body.data.map((order: { id: string }) => order.id)).toEqual([earlier.orderId, ...together.sort()])
  })
})

describe('read models in any order of arrival', () => {
  const consumed = (type: 'user.updated' | 'product.updated' | 'product.created') =>
    metricValue(orders.app.get('metrics'), 'events_consumed_total', { type })

  it('keeps the newest version of a user and a product, and a deleted product deleted', async () => {
    const userId = randomUUID()
    const user = { userId, email: 'ada@example.com', role: 'seller' as const, status: 'active' as const }
    const before = await consumed('user.updated')
    await orders.emit('user.updated', { ...user, name: 'Ada', shopName: 'Newer shop', version: 3 })
    await orders.emit('user.updated', { ...user, name: 'Ada', shopName: 'Older shop', version: 2 })
    await waitFor(async () => (await consumed('user.updated')) === before + 2, { what: 'both user events' })
    expect(await orders.db('users').where({ id: userId }).first('shopName', 'version')).toEqual({ shopName: 'Newer shop', version: 3 })

    const owner = seller()
    const product = productCreated(owner)
    const updates = await consumed('product.updated')
    await orders.emit('product.deleted', { productId: product.productId, sellerId: owner.sellerId!, version: 3 })
    await orders.emit('product.updated', { ...product, price: 1, version: 2 })
    await waitFor(async () => (await consumed('product.updated')) === updates + 1, { what: 'the late update' })
    // Handled before the delete (another batch), the update leaves a row the delete then marks; handled after, none.
    const rows = await orders.db('products').where({ id: product.productId })
    expect(rows.filter((row: { deleted: boolean }) => !row.deleted)).toEqual([])
  })
})
