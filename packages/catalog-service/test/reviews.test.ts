import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../../../test/support'
import { buyer, productData, seller, startCatalog, type Catalog } from './helpers'

let catalog: Catalog
beforeAll(async () => {
  catalog = await startCatalog('reviews')
})
afterAll(() => catalog?.close())

const shop = seller()
const deliver = async (buyerId: string, productIds: string[]) => {
  const orderId = randomUUID()
  await catalog.emit('order.delivered', { orderId, buyerId, sellerId: shop.sellerId!, productIds })
  await waitFor(async () => (await catalog.db('purchases').where({ orderId })).length === productIds.length, { what: 'the delivery' })
  return orderId
}
const newProduct = async () => (await catalog.call('POST', '/products', { as: shop, body: productData() })).body

describe('verified reviews', () => {
  it('refuses a review without a delivered order of that product (403)', async () => {
    const product = await newProduct()
    const customer = buyer()
    const body = { productId: product.id, orderId: randomUUID(), ratings: { quality: 5, value: 5, delivery: 5 }, comment: 'Great' }
    expect((await catalog.call('POST', '/reviews', { as: customer, body })).status).toBe(403)
    // Delivered, but to someone else, or another product of the order.
    const orderId = await deliver(buyer().id, [product.id])
    expect((await catalog.call('POST', '/reviews', { as: customer, body: { ...body, orderId } })).status).toBe(403)
    const mine = await deliver(customer.id, [(await newProduct()).id])
    expect((await catalog.call('POST', '/reviews', { as: customer, body: { ...body, orderId: mine } })).status).toBe(403)
    expect((await catalog.call('POST', '/reviews', { as: shop, body })).status).toBe(403)
    expect((await catalog.call('POST', '/reviews', { body })).status).toBe(401)
    expect(await catalog.db('reviews').count({ n: '*' })).toEqual([{ n: 0 }])
  })

  it('takes one review per product per order from its buyer, and keeps the product’s averages in step', async () => {
    const product = await newProduct()
    const customer = buyer()
    const orderId = await deliver(customer.id, [product.id])
    const body = { productId: product.id, orderId, ratings: { quality: 5, value: 4, delivery: 3 }, comment: 'Solid lamp' }
    const created = await catalog.call('POST', '/reviews', { as: customer, body })
    expect(created).toMatchObject({ status: 201, body: { ...body, buyerId: customer.id } })
    expect((await catalog.call('POST', '/reviews', { as: customer, body })).status).toBe(409)

    const again = await deliver(customer.id, [product.id])
    const second = { productId: product.id, orderId: again, ratings: { quality: 2, value: 3, delivery: 4 } }
    expect((await catalog.call('POST', '/reviews', { as: customer, body: second })).status).toBe(201)

    const { body: rated } = await catalog.call('GET', `/products/${product.id}`)
    expect(rated).toMatchObject({ ratingCount: 2, ratingQuality: 3.5, ratingValue: 3.5, ratingDelivery: 3.5, rating: 3.5 })
    const { body: listed } = await catalog.call('GET', `/reviews?productId=${product.id}&$sort[createdAt]=1`)
    expect(listed.data.map((review: { orderId: string }) => review.orderId)).toEqual([orderId, again])

    const [event] = await catalog.eventsOf('review.created', 1, (e) => e.data.orderId === orderId)
    expect(event.data).toEqual({ reviewId: created.body.id, productId: product.id, orderId, buyerId: customer.id, ratings: body.ratings })
  })

  it.each([
    [{ quality: 6, value: 4, delivery: 3 }, '/ratings/quality'],
    [{ quality: 0, value: 4, delivery: 3 }, '/ratings/quality'],
    [{ quality: 4, value: 4 }, '/ratings']
  ])('answers ratings %j with 400 naming the field', async (ratings, field) => {
    const product = await newProduct()
    const customer = buyer()
    const orderId = await deliver(customer.id, [product.id])
    const response = await catalog.call('POST', '/reviews', { as: customer, body: { productId: product.id, orderId, ratings } })
    expect(response.status).toBe(400)
    expect(response.body.data.map((error: { instancePath: string }) => error.instancePath)).toContain(field)
  })
})
