import { aggregateKey, type EventEnvelope, type EventHandler } from '@marketmesh/events'
import type { ServiceApplication } from '@marketmesh/shared'
import { dropOnEvents, dropShopAfterCommit } from '../cache'
import { recordDelivery } from './record-delivery'
import { releaseRefundedStock, releaseStock } from './release-stock'
import { reserveStock } from './reserve-stock'
import { updateUser } from './update-user'

// They lock product rows and per-order or per-seller advisory locks: each event in a transaction of its own.
const locking = { ownTransaction: true }
// A reservation's locks are its order's and its products': declared, so reservations share their batch's transaction.
const reservationLocks = {
  locks: ({ data }: EventEnvelope<'order.created'>) => [
    aggregateKey('order', data.orderId),
    ...data.lines.map(({ productId }) => aggregateKey('product', productId))
  ]
}

/** The handlers of the events this service consumes (its line of EVENT_CONSUMERS). */
export const events = (app: ServiceApplication) => {
  dropOnEvents(app)
  // A seller's name or status shows on every product of the shop.
  const updateUserAndShop: EventHandler<'user.registered' | 'user.updated'> = async (event, context) => {
    await updateUser(event, context)
    if (event.data.role === 'seller') await dropShopAfterCommit(app.get('readCache'), context.trx, event.data.userId)
  }
  app
    .get('events')
    .on('order.created', reserveStock, reservationLocks)
    .on('order.cancelled', releaseStock, locking)
    .on('order.rejected', releaseStock, locking)
    .on('order.refunded', releaseRefundedStock, locking)
    .on('order.delivered', recordDelivery)
    .on('user.registered', updateUserAndShop, locking)
    .on('user.updated', updateUserAndShop, locking)
}
