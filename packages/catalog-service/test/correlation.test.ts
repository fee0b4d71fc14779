import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bearer } from '@marketmesh/test-support/tokens'
import { envelope, productData, seller, startCatalog, type Catalog } from './helpers'

let catalog: Catalog
beforeAll(async () => {
  catalog = await startCatalog('correlation')
})
afterAll(() => catalog?.close())

const requestWithId = async (method: string, path: string, requestId: string, as: ReturnType<typeof seller>, body: unknown) => {
  const response = await fetch(`${catalog.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', 'X-Request-Id': requestId, ...bearer(as) },
    body: JSON.stringify(body)
  })
  expect(response.headers.get('x-request-id')).toBe(requestId)
  return response.json() as Promise<{ id: string }>
}

describe('where an event comes from', () => {
  it('carries the request id of the HTTP call that caused it, for every event the call emits', async () => {
    const owner = seller()
    const parent = await requestWithId('POST', '/products', 'trace-create-parent', owner, productData())
    const variants = await Promise.all(
      ['S', 'M'].map((size) =>
        requestWithId('POST', '/products', `trace-create-${size}`, owner, {
          parentId: parent.id,
          price: 100,
          currency: 'EUR',
          stock: 1,
          attributes: { size }
        })
      )
    )
    const [created] = await catalog.eventsOf('product.created', 1, (event) => event.data.productId === parent.id)
    expect(created).toMatchObject({ correlationId: 'trace-create-parent', causationId: null })

    // The parent's patch and the variants' propagated updates: one request, one correlation.
    await requestWithId('PATCH', `/products/${parent.id}`, 'trace-rename', owner, { title: 'Renamed lamp' })
    const updated = await catalog.eventsOf('product.updated', 3, (event) => [parent.id, ...variants.map((v) => v.id)].includes(event.data.productId))
    expect(updated.map((event) => event.correlationId)).toEqual(['trace-rename', 'trace-rename', 'trace-rename'])
  })

  it('gives a handler’s follow-up event the handled event as its cause and keeps the correlation', async () => {
    const owner = seller()
    const product = (await catalog.call('POST', '/products', { as: owner, body: productData({ stock: 3 }) })).body
    const orderCreated = {
      ...envelope('order.created', {
        orderId: randomUUID(),
        buyerId: randomUUID(),
        sellerId: owner.sellerId!,
        version: 1,
        checkoutId: randomUUID(),
        lines: [{ productId: product.id, quantity: 1, unitPrice: product.price }],
        total: product.price,
        currency: 'EUR'
      }),
      correlationId: 'trace-checkout-7'
    }
    await catalog.publishRaw(orderCreated)
    const [reserved] = await catalog.eventsOf('stock.reserved', 1, (event) => event.data.orderId === orderCreated.data.orderId)
    expect(reserved).toMatchObject({ correlationId: 'trace-checkout-7', causationId: orderCreated.id })
  })
})
