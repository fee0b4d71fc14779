import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { databaseOrCrashDetails } from '@marketmesh/test-support/leaks'
import { bearer } from '@marketmesh/test-support/tokens'
import { admin, buyer, productData, seller, startCatalog, type Catalog } from './helpers'

let catalog: Catalog
const shop = seller()
let productId: string

beforeAll(async () => {
  catalog = await startCatalog('query_validation')
  productId = (await catalog.call('POST', '/products', { as: shop, body: productData({ attributes: { color: 'brass' } }) })).body.id
})
afterAll(() => catalog?.close())

const INTERNAL_COLUMNS = [
  'searchVector',
  'ratingQualitySum',
  'ratingValueSum',
  'ratingDeliverySum',
  'attributeValueIds',
  'sellerDisabled',
  'deletedAt'
]

describe('queries of every method are validated', () => {
  it.each(INTERNAL_COLUMNS)('refuses the internal column %s on get and find, as $select and as a filter (400)', async (column) => {
    for (const path of ['/products', `/products/${productId}`]) {
      for (const query of [`$select[]=${column}`, `$select[]=title&$select[]=${column}`, `${column}=1`, `$sort[${column}]=1`]) {
        const answer = await catalog.call('GET', `${path}?${query}`, { as: admin() })
        expect(answer, `${path}?${query}`).toMatchObject({
          status: 400,
          body: { name: 'BadRequest', message: expect.stringMatching(/^Invalid \$select|^Invalid \$sort|^Invalid [a-zA-Z]+: is not a known field/) }
        })
        expect(databaseOrCrashDetails(JSON.stringify(answer.body))).toBeUndefined()
      }
    }
  })

  it('answers an unknown field with 400 naming it, on every service and method, never with SQL', async () => {
    const paths = ['/products', `/products/${productId}`, '/categories', '/reviews', '/search']
    for (const path of paths) {
      const answer = await catalog.call('GET', `${path}?nope=1`)
      expect(answer, path).toMatchObject({ status: 400, body: { message: 'Invalid nope: is not a known field' } })
      expect(databaseOrCrashDetails(JSON.stringify(answer.body))).toBeUndefined()
    }
    const patch = await catalog.call('PATCH', `/products/${productId}?nope=1`, { as: shop, body: { stock: 3 } })
    expect(patch).toMatchObject({ status: 400, body: { message: 'Invalid nope: is not a known field' } })
    const create = await catalog.call('POST', '/categories?nope=1', { as: admin(), body: { name: 'Lighting' } })
    expect(create).toMatchObject({ status: 400, body: { message: 'Invalid nope: is not a known field' } })
  })

  it('selects public fields, the shop name among them', async () => {
    const answer = await catalog.call('GET', `/products/${productId}?$select[]=title&$select[]=shopName`)
    expect(answer).toMatchObject({ status: 200, body: { id: productId, title: productData().title, shopName: null } })
    expect(Object.keys(answer.body).sort()).toEqual(['id', 'shopName', 'title'])
    const listed = await catalog.call('GET', `/products?$select[]=price&id=${productId}`)
    expect(listed.body.data).toEqual([{ id: productId, price: productData().price }])
  })

  it('refuses $select and paging on writes, which answer with the whole record', async () => {
    const answer = await catalog.call('PATCH', `/products/${productId}?$select[]=title`, { as: shop, body: { stock: 4 } })
    expect(answer).toMatchObject({ status: 400, body: { message: 'Invalid $select: is for find and get, not patch' } })
    expect((await catalog.call('GET', `/products/${productId}`)).body.stock).toBe(productData().stock)
  })

  it('refuses numbers beyond what the columns and LIMIT/OFFSET hold, naming the field', async () => {
    for (const [path, field] of [
      ['/search?minPrice=99999999999', 'minPrice'],
      ['/search?$skip=1e20', '$skip'],
      ['/products?$limit=1.5', '$limit'],
      ['/products?price[$gt]=99999999999', 'price.$gt'],
      ['/categories?$skip=-1', '$skip']
    ]) {
      const answer = await catalog.call('GET', path)
      expect(answer.status, path).toBe(400)
      expect(answer.body.message, path).toMatch(/^Invalid /)
      expect(answer.body.message, path).toContain(field)
    }
  })
})

describe('input no service can take', () => {
  it('answers a NUL byte in a search, a filter, a body or an attribute key with 400 naming the field', async () => {
    expect(await catalog.call('GET', '/search?q=%00')).toMatchObject({ status: 400, body: { message: 'Invalid q: must not contain NUL characters' } })
    expect(await catalog.call('GET', '/search?q=lamp&attributes[color]=br%00ass')).toMatchObject({
      status: 400,
      body: { message: 'Invalid attributes.color: must not contain NUL characters' }
    })
    expect(await catalog.call('GET', '/products?title=a%00b')).toMatchObject({
      status: 400,
      body: { message: 'Invalid title: must not contain NUL characters' }
    })
    const body = productData({ title: 'Desk\u0000lamp' })
    expect(await catalog.call('POST', '/products', { as: shop, body })).toMatchObject({
      status: 400,
      body: { message: 'Invalid title: must not contain NUL characters' }
    })
    const key = productData({ attributes: { 'col\u0000or': 'red' } })
    expect(await catalog.call('POST', '/products', { as: shop, body: key })).toMatchObject({
      status: 400,
      body: { message: 'Invalid attributes.col\\0or: must not contain NUL characters' }
    })
  })

  it('answers a body nested past 32 levels with 400, whatever the method', async () => {
    let deep: unknown = 'lamp'
    for (let level = 0; level < 40; level++) deep = { deeper: deep }
    const answer = await catalog.call('POST', '/products', { as: shop, body: productData({ attributes: deep }) })
    expect(answer).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/^Invalid attributes(\.deeper)+: must not be nested deeper than 32 levels/) }
    })
  })

  it('answers a list or no body with 400 and a write without an id with 405: one record at a time', async () => {
    const customer = buyer()
    expect(await catalog.call('POST', '/reviews', { as: customer, body: [] })).toMatchObject({
      status: 400,
      body: { message: 'Invalid body: must be one object, not a list' }
    })
    expect(await catalog.call('POST', '/products', { as: shop, body: [productData(), productData()] })).toMatchObject({ status: 400 })
    // No body and no Content-Type: nothing for the hooks to read.
    const none = await fetch(`${catalog.url}/categories`, { method: 'POST', headers: bearer(admin()) })
    expect({ status: none.status, body: await none.json() }).toMatchObject({ status: 400, body: { message: 'Invalid body: must be a JSON object' } })
    expect(await catalog.call('PATCH', '/products', { as: admin(), body: { stock: 0 } })).toMatchObject({
      status: 405,
      body: { message: 'patch takes the id of one record: /products/:id' }
    })
    expect(await catalog.call('DELETE', '/categories', { as: admin() })).toMatchObject({ status: 405 })
    expect((await catalog.call('GET', `/products/${productId}`)).body.stock).toBe(productData().stock)
  })

  it('answers an id that is no UUID with 400, and one named like an Object property too, never 500', async () => {
    for (const id of ['abc', '1', 'constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      for (const path of [`/products/${id}`, `/categories/${id}`, `/reviews/${id}`]) {
        expect(await catalog.call('GET', path, { as: buyer() }), path).toMatchObject({ status: 400, body: { message: 'Invalid id: must be a UUID' } })
      }
      expect((await catalog.call('GET', `/${id}`)).status).toBe(404)
    }
    expect(await catalog.call('DELETE', '/categories/constructor', { as: admin() })).toMatchObject({ status: 400 })
  })
})
