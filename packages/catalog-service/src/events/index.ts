import type { ServiceApplication } from '@marketmesh/shared'
import { recordDelivery } from './record-delivery'
import { releaseStock } from './release-stock'
import { reserveStock } from './reserve-stock'
import { updateSeller } from './update-seller'

/** The handlers of the events this service consumes. */
export const events = (app: ServiceApplication) => {
  app
    .get('events')
    .on('order.created', reserveStock)
    .on('order.cancelled', releaseStock)
    .on('order.rejected', releaseStock)
    .on('order.refunded', releaseStock)
    .on('order.delivered', recordDelivery)
    .on('user.registered', updateSeller)
    .on('user.updated', updateSeller)
}
