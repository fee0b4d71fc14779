import { randomUUID } from 'node:crypto'
import { eventTypes, type EventData } from '@marketmesh/events'
import { type Principal } from '@marketmesh/shared'
import { metricValue, waitFor, type ServiceProcess } from '@marketmesh/test-support'
import { seller, startServiceUnderTest, type ServiceUnderTest } from '@marketmesh/test-support/service-under-test'
import { bearer } from '@marketmesh/test-support/tokens'
import { createApp } from '../src/app'

export { admin, buyer, seller } from '@marketmesh/test-support/service-under-test'

/** Every event order-service emits: the order.* types of the catalog. */
const ORDER_EVENTS = eventTypes.filter((type) => type.startsWith('order.'))

export const startOrders = (label: string, settings?: Record<string, unknown>) =>
  startServiceUnderTest({
    label,
    createApp,
    settings,
    watched: ORDER_EVENTS
  })

export type Orders = ServiceUnderTest

/** A product in the catalog's words, as product.created brings it to order-service. */
export const productCreated = (owner: Principal, overrides: Partial<EventData<'product.created'>> = {}): EventData<'product.created'> => ({
  productId: randomUUID(),
  sellerId: owner.sellerId!,
  parentId: null,
  title: 'Oak side table',
  price: 12_500,
  currency: 'EUR',
  status: 'active',
  version: 1,
  ...overrides
})

/** Emits the products and waits until order-service has them in its read model. */
export const knownProducts = async (orders: Orders, products: Array<EventData<'product.created'>>) => {
  const before = await metricValue(orders.app.get('metrics'), 'events_consumed_total', { type: 'product.created' })
  for (const product of products) await orders.emit('product.created', product)
  await waitFor(
    async () => (await metricValue(orders.app.get('metrics'), 'events_consumed_total', { type: 'product.created' })) >= before + products.length,
    { what: 'the products in the read model' }
  )
  return products
}

export const sellerWithShop = () => seller()

export const shippingAddress = { name: 'Ada Buyer', line1: 'Main Street 1', city: 'Berlin', postalCode: '10115', country: 'DE' }

export const checkoutBody = (items: Array<{ productId: string; quantity: number }>, token = 'tok_ok') => ({
  items,
  shippingAddress,
  payment: { provider: 'test', token }
})

/** Calls a service running as its own process (`startServiceProcess`) as `as`, and returns its JSON answer. */
export const callProcess = async (service: ServiceProcess, method: string, path: string, as: Principal, body?: unknown) => {
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...bearer(as) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return (await response.json()) as any
}
