// The data of an order.created event as order-service emits it, with fresh ids: what the benches send.
import { randomUUID } from 'node:crypto'

export const orderCreated = () => ({
  orderId: randomUUID(),
  buyerId: randomUUID(),
  sellerId: randomUUID(),
  checkoutId: randomUUID(),
  lines: [{ productId: randomUUID(), quantity: 2, unitPrice: 1999 }],
  total: 3998,
  currency: 'EUR'
})
