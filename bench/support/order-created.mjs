// An order.created event as order-service emits it, with fresh ids: what the benches send.
import { randomUUID } from 'node:crypto'

export const orderCreated = () => ({
  orderId: randomUUID(),
  buyerId: randomUUID(),
  sellerId: randomUUID(),
  version: 1,
  checkoutId: randomUUID(),
  lines: [{ productId: randomUUID(), quantity: 2, unitPrice: 1999 }],
  total: 3998,
  currency: 'EUR'
})

/** The whole envelope of one, as the outbox relay publishes it. */
export const orderCreatedEnvelope = (id = randomUUID()) => ({
  id,
  type: 'order.created',
  version: 1,
  occurredAt: new Date().toISOString(),
  source: 'order-service',
  correlationId: randomUUID(),
  causationId: null,
  data: orderCreated()
})
