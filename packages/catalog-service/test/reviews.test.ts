import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '@marketmesh/test-support'
import { admin, buyer, productData, seller, startCatalog, type Catalog } from './helpers'

let catalog: Catalog
beforeAll(async () => {
  catalog = await startCatalog('reviews')
})
afterAll(() => catalog?.close())

const shop = seller()
const deliver = async (buyerId: string, productIds: string[]) => {
  const orderId = randomUUID()
  await catalog.emit('order.delivered', { orderId, buyerId, sellerId: shop.sellerId!, version: 4, productIds })
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
    const { body: listed } = await catalog.call('GET', `/reviews?productId=${product.id}&$sort[createdAt]=1`, { as: customer })
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

describe('privacy of purchases', () => {
  const registerBuyer = async (name: string) => {
    const customer = buyer()
    await catalog.emit('user.registered', {
      userId: customer.id,
      version: 1,
      email: `${customer.id}@example.com`,
      name,
      role: 'buyer',
      status: 'active'
    })
    await waitFor(async () => (await catalog.db('buyers').where({ id: customer.id })).length === 1, { what: 'the buyers read model' })
    return customer
  }
  const review = async (customer: ReturnType<typeof buyer>, comment = 'Bright and steady') => {
    const product = await newProduct()
    const orderId = await deliver(customer.id, [product.id])
    const created = await catalog.call('POST', '/reviews', {
      as: customer,
      body: { productId: product.id, orderId, ratings: { quality: 4, value: 4, delivery: 5 }, comment }
    })
    expect(created.status).toBe(201)
    return { product, orderId, review: created.body }
  }

  it("shows another buyer's review signed with a display name and without buyer or order id, and refuses to filter by them", async () => {
    const author = await registerBuyer('Ada Lovelace')
    const { product, orderId, review: created } = await review(author)
    expect(created).toMatchObject({ displayName: 'Ada L.', buyerId: author.id, orderId })

    for (const viewer of [undefined, buyer(), seller()]) {
      const one = await catalog.call('GET', `/reviews/${created.id}`, { as: viewer })
      expect(one).toMatchObject({ status: 200, body: { id: created.id, displayName: 'Ada L.', comment: 'Bright and steady' } })
      const list = await catalog.call('GET', `/reviews?productId=${product.id}`, { as: viewer })
      expect(list.body.data).toHaveLength(1)
      const selected = await catalog.call('GET', `/reviews/${created.id}?$select[]=buyerId&$select[]=orderId&$select[]=displayName`, { as: viewer })
      expect(selected.body).toEqual({ id: created.id, displayName: 'Ada L.' })
      for (const shown of [one.body, list.body.data[0], selected.body]) {
        expect(shown).not.toHaveProperty('buyerId')
        expect(shown).not.toHaveProperty('orderId')
      }
      for (const query of [
        `buyerId=${author.id}`,
        `orderId=${orderId}`,
        '$sort[buyerId]=1',
        `$or[0][buyerId]=${author.id}`,
        `productId=${product.id}&buyerId[$ne]=${author.id}`
      ]) {
        const filtered = await catalog.call('GET', `/reviews?${query}`, { as: viewer })
        expect(filtered, query).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^Invalid (buyerId|orderId): only an admin/) } })
      }
    }

    // The author sees both and lists their own reviews; an admin sees and filters everything.
    const own = await catalog.call('GET', `/reviews?buyerId=${author.id}&orderId=${orderId}`, { as: author })
    expect(own).toMatchObject({ status: 200, body: { total: 1, data: [{ id: created.id, buyerId: author.id, orderId }] } })
    const audited = await catalog.call('GET', `/reviews?buyerId=${author.id}`, { as: admin() })
    expect(audited).toMatchObject({ status: 200, body: { total: 1, data: [{ buyerId: author.id, orderId }] } })
  })

  it('keeps the name a review was signed with, and signs without one while the buyer is unknown', async () => {
    const author = await registerBuyer('Ada Lovelace')
    const { review: before } = await review(author)
    await catalog.emit('user.updated', {
      userId: author.id,
      version: 2,
      email: `${author.id}@example.com`,
      name: 'Ada King',
      role: 'buyer',
      status: 'active'
    })
    await waitFor(async () => (await catalog.db('buyers').where({ id: author.id }).first())?.displayName === 'Ada K.', { what: 'the new name' })
    expect((await catalog.call('GET', `/reviews/${before.id}`)).body.displayName).toBe('Ada L.')
    expect((await review(author)).review.displayName).toBe('Ada K.')

    expect((await review(await registerBuyer('Cher'))).review.displayName).toBe('Cher')
    expect((await review(buyer())).review.displayName).toBe('A verified buyer')
  })
})
