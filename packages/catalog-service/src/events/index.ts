import type { ServiceApplication } from '@marketmesh/shared'
import { recordDelivery } from './record-delivery'
import { releaseRefundedStock, releaseStock } from './release-stock'
import { reserveStock } from './reserve-stock'
import { updateUser } from './update-user'

// They lock product rows and per-order or per-seller advisory locks: each event in a transaction of its own.
const locking = { ownTransaction: true }

/** The handlers of the events this service consumes (its line of EVENT_CONSUMERS). */
export const events = (app: ServiceApplication) => {
  app
    .get('events')
    .on('order.created', reserveStock, locking)
    .on('order.cancelled', releaseStock, locking)
    .on('order.rejected', releaseStock, locking)
    .on('order.refunded', releaseRefundedStock, locking)
    .on('order.delivered', recordDelivery)
    .on('user.registered', updateUser, locking)
    .on('user.updated', updateUser, locking)
}
