import type { ServiceApplication } from '@marketmesh/shared'
import { idempotencyKeyPurge } from '../idempotency-keys'
import { checkout } from './checkouts/checkouts'
import { order } from './orders/orders'

export const services = (app: ServiceApplication) => {
  app.configure(checkout)
  app.configure(idempotencyKeyPurge)
  app.configure(order)
}
