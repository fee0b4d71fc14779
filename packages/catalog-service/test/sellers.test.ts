import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventData, EventEnvelope } from '@marketmesh/events'
import { waitFor } from '@marketmesh/test-support'
import { envelope, productData, seller, startCatalog, type Catalog } from './helpers'

let catalog: Catalog
beforeAll(async () => {
  catalog = await startCatalog('sellers')
})
afterAll(() => catalog?.close())

type UserEventType = 'user.registered' | 'user.updated'

/** A user event as one of user-service's instances writes it, stamped with that instance's clock. */
const userEvent = <T extends UserEventType>(type: T, data: EventData<T>, occurredAt = new Date().toISOString()): EventEnvelope<T> => ({
  ...envelope(type, data),
  source: 'user-service',
  occurredAt
})

/** Publishes the event and waits until the catalog has handled it, whether it changed anything or not. */
const deliver = async (event: EventEnvelope<UserEventType>) => {
  await catalog.publishRaw(event)
  await waitFor(() => catalog.db('processed_events').where({ event_id: event.id }).first(), {
    what: `${event.type} version ${event.data.version} to be handled`
  })
}

const listedCount = async (sellerId: string) => (await catalog.call('GET', `/products?sellerId=${sellerId}`)).body.total

/** An active seller (version 1) with one listed product. */
const activeSellerWithProduct = async () => {
  const owner = seller()
  const user = { userId: owner.id, email: `${owner.id}@example.com`, name: 'Ada', role: 'seller' as const, shopName: 'Ada’s Attic' }
  await deliver(userEvent('user.registered', { ...user, version: 1, status: 'active' }))
  const { body: product } = await catalog.call('POST', '/products', { as: owner, body: productData() })
  expect(await listedCount(owner.id)).toBe(1)
  return { user, product }
}

const expectDisabledAtVersion3 = async (sellerId: string, productId: string) => {
  expect(await catalog.db('sellers').where({ id: sellerId }).first('status', 'version')).toEqual({ status: 'disabled', version: 3 })
  expect(await listedCount(sellerId)).toBe(0)
  expect((await catalog.call('GET', `/products/${productId}`)).body.available).toBe(false)
}

describe('the sellers read model orders a user’s events by version, not by clock', () => {
  it('keeps version 3 (disabled) when version 2 (active) arrives after it, though stamped later', async () => {
    const { user, product } = await activeSellerWithProduct()
    await deliver(userEvent('user.updated', { ...user, version: 3, status: 'disabled' }, '2030-01-01T12:00:00.000Z'))
    await deliver(userEvent('user.updated', { ...user, version: 2, status: 'active' }, '2030-01-01T12:05:00.000Z'))
    await expectDisabledAtVersion3(user.userId, product.id)
  })

  it('keeps version 3 when version 2 arrives after it stamped with the same millisecond', async () => {
    const { user, product } = await activeSellerWithProduct()
    const sameMillisecond = '2030-01-01T12:00:00.123Z'
    await deliver(userEvent('user.updated', { ...user, version: 3, status: 'disabled' }, sameMillisecond))
    await deliver(userEvent('user.updated', { ...user, version: 2, status: 'active' }, sameMillisecond))
    await expectDisabledAtVersion3(user.userId, product.id)
  })

  it('applies version 2 and then version 3 when they arrive in order, whatever their stamps', async () => {
    const { user, product } = await activeSellerWithProduct()
    await deliver(userEvent('user.updated', { ...user, version: 2, status: 'active', shopName: 'Renamed' }, '2030-01-01T12:05:00.000Z'))
    expect((await catalog.call('GET', `/products/${product.id}`)).body.shopName).toBe('Renamed')
    await deliver(userEvent('user.updated', { ...user, version: 3, status: 'disabled' }, '2030-01-01T12:00:00.000Z'))
    await expectDisabledAtVersion3(user.userId, product.id)
  })
})
