import { type Principal } from '@marketmesh/shared'
import { type ServiceProcess, waitFor } from '@marketmesh/test-support'
import { ORDER_EVENTS } from '@marketmesh/test-support/events'
import { seller, startServiceUnderTest, type ServiceUnderTest } from '@marketmesh/test-support/service-under-test'
import { bearer } from '@marketmesh/test-support/tokens'
import { createApp } from '../src/app'

export { admin, buyer, seller } from '@marketmesh/test-support/service-under-test'
export { checkoutBody, knownProducts, productCreated, shippingAddress } from '@marketmesh/test-support/events'

export const startOrders = (label: string, settings?: Record<string, unknown>) =>
  startServiceUnderTest({
    label,
    createApp,
    settings,
    watched: ORDER_EVENTS
  })

export type Orders = ServiceUnderTest

export const sellerWithShop = () => seller()

/** A seller order-service has heard of (`user.registered`): their email opens a payout account. */
export const registeredSeller = async (orders: Orders) => {
  const owner = seller()
  await orders.emit('user.registered', {
    userId: owner.id,
    version: 1,
    email: `shop-${owner.id}@example.com`,
    name: 'Sam Seller',
    role: 'seller',
    status: 'active',
    shopName: 'Sam’s shop'
  })
  await waitFor(() => orders.db('users').where({ id: owner.id }).first('id'), { what: 'the seller in the read model' })
  return owner
}

/** Calls a service running as its own process (`startServiceProcess`) as `as`, and returns its JSON answer. */
export const callProcess = async (service: ServiceProcess, method: string, path: string, as: Principal, body?: unknown) => {
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...bearer(as) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return (await response.json()) as any
}
