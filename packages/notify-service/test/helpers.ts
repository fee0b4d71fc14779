import { randomUUID } from 'node:crypto'
import { createDeviceToken, hashDeviceToken, type EventData, type Principal } from '@marketmesh/shared'
import { waitFor } from '../../../test/support'
import { admin, startServiceUnderTest, type ServiceUnderTest } from '../../../test/support/service-under-test'
import { createApp } from '../src/app'

export { admin, buyer, seller } from '../../../test/support/service-under-test'

export const startNotify = (label: string, settings?: Record<string, unknown>) => startServiceUnderTest({ label, createApp, settings, watched: [] })

export type Notify = ServiceUnderTest

const someAdmin = admin()

/** Waits until the log holds `count` notifications in all (as an admin sees it). */
export const logHolds = (notify: Notify, count: number) =>
  waitFor(
    async () => {
      const { body } = await notify.call('GET', '/notifications?$limit=0', { as: someAdmin })
      return body.total >= count
    },
    { what: `${count} notifications in the log` }
  )

export const orderRef = (buyer: Principal, shop: Principal) => ({ orderId: randomUUID(), buyerId: buyer.id, sellerId: shop.sellerId! })

/** `order.paid` as order-service sends it: with the receipt. */
export const orderPaid = (buyer: Principal, shop: Principal, overrides: Partial<EventData<'order.paid'>> = {}): EventData<'order.paid'> => ({
  ...orderRef(buyer, shop),
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

/** A device of `shop` registered through user-service's event; resolves once notify-service knows its token. */
export const registeredDevice = async (notify: Notify, shop: Principal) => {
  const token = createDeviceToken()
  const deviceId = randomUUID()
  await notify.emit('device.registered', { deviceId, sellerId: shop.sellerId!, name: 'Packing desk printer', tokenHash: hashDeviceToken(token) })
  await waitFor(() => notify.db('device_credentials').first('id').where({ id: deviceId }), { what: 'the device in the read model' })
  return { deviceId, token }
}

/** Request options that authenticate as a device, by its token. */
export const asDevice = (device: { token: string }) => ({ headers: { Authorization: `Bearer ${device.token}` } })

/** Waits for the shop's original print job of `orderId` (as its seller sees it). */
export const printJobOf = (notify: Notify, shop: Principal, orderId: string) =>
  waitFor(
    async () => {
      const { body } = await notify.call('GET', `/print-jobs?orderId=${orderId}&copy=false`, { as: shop })
      return body.data?.[0]
    },
    { what: `the print job of order ${orderId}` }
  )
