// The events other services send, as a test feeds them to the service under test (`service.emit`):
// the builders every package's tests share, so no test imports another package's test folder.
import { randomUUID } from 'node:crypto'
import { eventTypes, type EventData } from '@marketmesh/events'
import { createDeviceToken, hashDeviceToken, type Principal } from '@marketmesh/shared'
import { metricValue, waitFor } from '.'
import type { ServiceUnderTest } from './service-under-test'

/** Every event order-service emits: the order.* and payout.* types of the catalog. */
export const ORDER_EVENTS = eventTypes.filter((type) => type.startsWith('order.') || type.startsWith('payout.'))

export const orderRef = (buyer: Principal, shop: Principal, version = 1) => ({
  orderId: randomUUID(),
  buyerId: buyer.id,
  sellerId: shop.sellerId!,
  version
})

/** `order.paid` as order-service sends it: with the receipt. */
export const orderPaid = (buyer: Principal, shop: Principal, overrides: Partial<EventData<'order.paid'>> = {}): EventData<'order.paid'> => ({
  // Placed (1), then paid.
  ...orderRef(buyer, shop, 2),
  checkoutId: randomUUID(),
  total: 25_000,
  currency: 'EUR',
  paymentId: `pay_${randomUUID()}`,
  placedAt: new Date().toISOString(),
  buyerName: 'Ada Buyer',
  shopName: 'Oak & Iron',
  shippingAddress: { name: 'Ada Buyer', line1: 'Main Street 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
  lines: [{ productId: randomUUID(), title: 'Oak side table', quantity: 2, unitPrice: 12_500 }],
  ...overrides
})

export const userRegistered = (user: Principal, overrides: Partial<EventData<'user.registered'>> = {}): EventData<'user.registered'> => ({
  userId: user.id,
  version: 1,
  email: `${user.id}@example.test`,
  name: `User ${user.id.slice(0, 4)}`,
  role: user.role === 'device' ? 'seller' : user.role,
  status: 'active',
  ...(user.role === 'seller' && { shopName: 'Oak & Iron', shopSlug: 'oak-iron' }),
  ...overrides
})

/** The event that brings a user's welcome mail (`welcome`) or another verification link. */
export const emailVerificationRequested = (
  registered: EventData<'user.registered'>,
  overrides: Partial<EventData<'user.email_verification_requested'>> = {}
): EventData<'user.email_verification_requested'> => ({
  userId: registered.userId,
  email: registered.email,
  token: `mmev_${randomUUID()}`,
  expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
  welcome: true,
  ...(registered.shopName !== undefined && { shopName: registered.shopName }),
  ...overrides
})

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

/** Emits the products and waits until the service has consumed them (its read model has them). */
export const knownProducts = async (service: ServiceUnderTest, products: Array<EventData<'product.created'>>) => {
  const before = await metricValue(service.app.get('metrics'), 'events_consumed_total', { type: 'product.created' })
  for (const product of products) await service.emit('product.created', product)
  await waitFor(
    async () => (await metricValue(service.app.get('metrics'), 'events_consumed_total', { type: 'product.created' })) >= before + products.length,
    { what: 'the products in the read model' }
  )
  return products
}

/** A device of `shop` registered through user-service's event; resolves once the service knows its token. */
export const registeredDevice = async (service: ServiceUnderTest, shop: Principal) => {
  const token = createDeviceToken()
  const deviceId = randomUUID()
  await service.emit('device.registered', { deviceId, sellerId: shop.sellerId!, name: 'Packing desk printer', tokenHash: hashDeviceToken(token) })
  await waitFor(() => service.db('device_credentials').first('id').where({ id: deviceId }), { what: 'the device in the read model' })
  return { deviceId, token }
}

/** What a buyer posts to order-service's `POST /checkouts`, for the tests that drive the saga from outside. */
export const shippingAddress = { name: 'Ada Buyer', line1: 'Main Street 1', city: 'Berlin', postalCode: '10115', country: 'DE' }

export const checkoutBody = (items: Array<{ productId: string; quantity: number }>, token = 'tok_ok') => ({
  items,
  shippingAddress,
  payment: { provider: 'test', token }
})
