import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { admin, productData, seller, startCatalog, type Catalog } from './helpers'

let catalog: Catalog
beforeAll(async () => {
  catalog = await startCatalog('categories')
})
afterAll(() => catalog?.close())

describe('categories', () => {
  it('are written by admins only and read by anyone', async () => {
    expect((await catalog.call('POST', '/categories', { as: seller(), body: { name: 'Garden' } })).status).toBe(403)
    expect((await catalog.call('POST', '/categories', { body: { name: 'Garden' } })).status).toBe(401)
    const { status, body: garden } = await catalog.call('POST', '/categories', { as: admin(), body: { name: 'Garden' } })
    expect(status).toBe(201)
    const { body: tools } = await catalog.call('POST', '/categories', { as: admin(), body: { name: 'Tools', parentId: garden.id } })
    expect((await catalog.call('GET', `/categories?parentId=${garden.id}`)).body.data).toEqual([tools])
    expect((await catalog.call('PATCH', `/categories/${tools.id}`, { as: seller(), body: { name: 'x' } })).status).toBe(403)
    expect((await catalog.call('PATCH', `/categories/${tools.id}`, { as: admin(), body: { name: 'Hand tools' } })).body.name).toBe('Hand tools')
  })

  it('stay a tree: no unknown parent, no category inside itself', async () => {
    const { body: top } = await catalog.call('POST', '/categories', { as: admin(), body: { name: 'Home' } })
    const { body: middle } = await catalog.call('POST', '/categories', { as: admin(), body: { name: 'Kitchen', parentId: top.id } })
    const { body: bottom } = await catalog.call('POST', '/categories', { as: admin(), body: { name: 'Knives', parentId: middle.id } })
    const loop = await catalog.call('PATCH', `/categories/${top.id}`, { as: admin(), body: { parentId: bottom.id } })
    expect(loop).toMatchObject({ status: 400, body: { message: 'Invalid parentId: would put the category inside itself' } })
    expect((await catalog.call('PATCH', `/categories/${top.id}`, { as: admin(), body: { parentId: top.id } })).status).toBe(400)
    const orphan = await catalog.call('POST', '/categories', { as: admin(), body: { name: 'x', parentId: seller().id } })
    expect(orphan).toMatchObject({ status: 400, body: { message: 'Invalid parentId: no such category' } })
    expect((await catalog.call('POST', '/categories', { as: admin(), body: { name: '' } })).status).toBe(400)
  })

  it('cannot be removed while subcategories or products use them (409)', async () => {
    const { body: parent } = await catalog.call('POST', '/categories', { as: admin(), body: { name: 'Books' } })
    const { body: child } = await catalog.call('POST', '/categories', { as: admin(), body: { name: 'Poetry', parentId: parent.id } })
    await catalog.call('POST', '/products', { as: seller(), body: productData({ categoryId: child.id }) })
    expect((await catalog.call('DELETE', `/categories/${parent.id}`, { as: admin() })).status).toBe(409)
    expect((await catalog.call('DELETE', `/categories/${child.id}`, { as: admin() })).status).toBe(409)
    const { body: empty } = await catalog.call('POST', '/categories', { as: admin(), body: { name: 'Empty' } })
    expect((await catalog.call('DELETE', `/categories/${empty.id}`, { as: seller() })).status).toBe(403)
    expect((await catalog.call('DELETE', `/categories/${empty.id}`, { as: admin() })).status).toBe(200)
    expect((await catalog.call('GET', `/categories/${empty.id}`)).status).toBe(404)
  })
})
