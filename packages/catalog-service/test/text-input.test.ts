import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '@marketmesh/test-support'
import { admin, buyer, productData, seller, startCatalog, type Catalog } from './helpers'

let catalog: Catalog
beforeAll(async () => {
  catalog = await startCatalog('text_input')
})
afterAll(() => catalog?.close())

describe('free text in the catalog', () => {
  it('refuses control and invisible characters in a product with a 400 naming the field, and stores nothing', async () => {
    const shop = seller()
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ title: 'Lamp\u001bp022' }, 'Invalid title: must not contain U+001B (a control character)'],
      [{ title: 'Lamp\nshade' }, 'Invalid title: must not contain U+000A (a line break)'],
      [{ title: '\u202eLamp' }, 'Invalid title: must not contain U+202E (an invisible format character)'],
      [{ description: 'Warm.\n\u001dV1' }, 'Invalid description: must not contain U+001D (a control character)'],
      [{ attributes: { color: 'red\u200b' } }, 'Invalid attributes.color: must not contain U+200B (an invisible format character)'],
      [{ attributes: { tags: ['oak', 'oiled\u0007'] } }, 'Invalid attributes.tags.1: must not contain U+0007 (a control character)'],
      [{ attributes: { 'col\u00adour': 'red' } }, 'Invalid attributes: names must not contain U+00AD (an invisible format character)']
    ]
    for (const [fields, message] of cases) {
      const response = await catalog.call('POST', '/products', { as: shop, body: productData(fields) })
      expect(response.status, JSON.stringify(fields)).toBe(400)
      expect(response.body.message).toBe(message)
    }
    expect(await catalog.db('products').where({ sellerId: shop.sellerId })).toEqual([])

    const created = await catalog.call('POST', '/products', {
      as: shop,
      body: productData({ title: 'Käse 👩‍🍳', description: 'Aged.\n\nFrom the Alps.', attributes: { origin: 'Schweiz', tags: ['raw milk'] } })
    })
    expect(created.status).toBe(201)
    const patched = await catalog.call('PATCH', `/products/${created.body.id}`, { as: shop, body: { title: 'Käse\u0085' } })
    expect(patched.status).toBe(400)
    expect(patched.body.message).toBe('Invalid title: must not contain U+0085 (a control character)')
  })

  it('refuses them in a category name and a review comment, which may have several lines', async () => {
    const category = await catalog.call('POST', '/categories', { as: admin(), body: { name: 'Garden\u2028Tools' } })
    expect(category.status).toBe(400)
    expect(category.body.message).toBe('Invalid name: must not contain U+2028 (a line break)')

    const shop = seller()
    const product = (await catalog.call('POST', '/products', { as: shop, body: productData() })).body
    const customer = buyer()
    const orderId = randomUUID()
    await catalog.emit('order.delivered', { orderId, buyerId: customer.id, sellerId: shop.sellerId!, version: 4, productIds: [product.id] })
    await waitFor(async () => (await catalog.db('purchases').where({ orderId })).length === 1, { what: 'the delivery' })
    const review = (comment: string) =>
      catalog.call('POST', '/reviews', {
        as: customer,
        body: { productId: product.id, orderId, ratings: { quality: 5, value: 4, delivery: 5 }, comment }
      })
    const forged = await review('Great\u202e!')
    expect(forged.status).toBe(400)
    expect(forged.body.message).toBe('Invalid comment: must not contain U+202E (an invisible format character)')
    expect((await review('Great lamp.\nWarm light.')).status).toBe(201)
  })
})
