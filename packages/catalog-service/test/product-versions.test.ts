import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { productData, seller, startCatalog, type Catalog } from './helpers'

let catalog: Catalog
beforeAll(async () => {
  catalog = await startCatalog('product_versions')
})
afterAll(() => catalog?.close())

/** The product's events as the catalog wrote them to its outbox, in order: [type, version]. */
const eventVersionsOf = async (productId: string) =>
  (await catalog.db('outbox').whereRaw(`envelope->'data'->>'productId' = ?`, [productId]).orderBy('id')).map(({ type, envelope }) => [
    type,
    envelope.data.version
  ])

const versionOf = async (productId: string) => (await catalog.db('products').where({ id: productId }).first('version')).version

/** A main product and two variants, all at version 1. */
const parentWithVariants = async (owner = seller()) => {
  const { body: parent } = await catalog.call('POST', '/products', { as: owner, body: productData() })
  const variants = []
  for (const size of ['S', 'L']) {
    const { body } = await catalog.call('POST', '/products', {
      as: owner,
      body: { parentId: parent.id, price: 5_999, currency: 'EUR', stock: 2, attributes: { size } }
    })
    variants.push(body)
  }
  return { owner, parent, variants }
}

describe('product versions', () => {
  it('numbers a product’s events: 1 at creation, one more with each PATCH; reads and search show it', async () => {
    const owner = seller()
    const { body: product } = await catalog.call('POST', '/products', { as: owner, body: productData({ title: 'Marquetry lamp' }) })
    expect(product.version).toBe(1)
    const first = await catalog.call('PATCH', `/products/${product.id}`, { as: owner, body: { price: 3_999 } })
    const second = await catalog.call('PATCH', `/products/${product.id}`, { as: owner, body: { stock: 4, version: 2 } })
    expect([first.body.version, second.body.version]).toEqual([2, 3])
    expect(await eventVersionsOf(product.id)).toEqual([
      ['product.created', 1],
      ['product.updated', 2],
      ['product.updated', 3]
    ])
    expect((await catalog.call('GET', `/products/${product.id}`)).body.version).toBe(3)
    const { body: found } = await catalog.call('GET', '/search?q=marquetry')
    expect(found.data.map(({ id, version }: { id: string; version: number }) => ({ id, version }))).toEqual([{ id: product.id, version: 3 }])
  })

  it('gives each variant a parent’s change reaches its own next version, carried by its product.updated', async () => {
    const {
      owner,
      parent,
      variants: [small, large]
    } = await parentWithVariants()
    await catalog.call('PATCH', `/products/${small.id}`, { as: owner, body: { stockDelta: 3 } })
    // Only the parent's own fields: nothing reaches the variants, so their versions stay.
    await catalog.call('PATCH', `/products/${parent.id}`, { as: owner, body: { price: 100 } })
    expect([await versionOf(small.id), await versionOf(large.id)]).toEqual([2, 1])

    expect((await catalog.call('PATCH', `/products/${parent.id}`, { as: owner, body: { title: 'Renamed lamp' } })).body.version).toBe(3)
    expect(await eventVersionsOf(small.id)).toEqual([
      ['product.created', 1],
      ['product.updated', 2],
      ['product.updated', 3]
    ])
    expect(await eventVersionsOf(large.id)).toEqual([
      ['product.created', 1],
      ['product.updated', 2]
    ])
    expect([await versionOf(small.id), await versionOf(large.id)]).toEqual([3, 2])
  })

  it('emits product.deleted with the next version, for the product and for each variant removed with it', async () => {
    const {
      owner,
      parent,
      variants: [small, large]
    } = await parentWithVariants()
    await catalog.call('PATCH', `/products/${parent.id}`, { as: owner, body: { price: 100 } })
    await catalog.call('PATCH', `/products/${large.id}`, { as: owner, body: { price: 200 } })
    const removed = await catalog.call('DELETE', `/products/${parent.id}`, { as: owner })
    expect(removed).toMatchObject({ status: 200, body: { version: 3 } })
    expect((await eventVersionsOf(parent.id)).at(-1)).toEqual(['product.deleted', 3])
    expect((await eventVersionsOf(small.id)).at(-1)).toEqual(['product.deleted', 2])
    expect((await eventVersionsOf(large.id)).at(-1)).toEqual(['product.deleted', 3])
  })

  it('gives concurrent PATCHes distinct versions, the variants they reach too', async () => {
    const {
      owner,
      parent,
      variants: [small]
    } = await parentWithVariants()
    const patches = await Promise.all(
      ['One', 'Two', 'Three'].map((title) => catalog.call('PATCH', `/products/${parent.id}`, { as: owner, body: { title } }))
    )
    expect(patches.map(({ body }) => body.version).sort()).toEqual([2, 3, 4])
    for (const id of [parent.id, small.id]) {
      expect((await eventVersionsOf(id)).map(([, version]) => version).sort()).toEqual([1, 2, 3, 4])
    }
  })

  it('does not let a client set the version: a PATCH naming one is a condition, refused when stale', async () => {
    const owner = seller()
    expect((await catalog.call('POST', '/products', { as: owner, body: productData({ version: 5 }) })).status).toBe(400)
    const { body: product } = await catalog.call('POST', '/products', { as: owner, body: productData() })
    expect((await catalog.call('PATCH', `/products/${product.id}`, { as: owner, body: { price: 1, version: 99 } })).status).toBe(409)
    expect(await versionOf(product.id)).toBe(1)
  })
})
