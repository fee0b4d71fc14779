import type { ServiceApplication } from '@marketmesh/shared'
import { deleteProduct, updateProduct } from './update-product'
import { updateUser } from './update-user'

/** The handlers of the events this service consumes (its line of EVENT_CONSUMERS). */
export const events = (app: ServiceApplication) => {
  app
    .get('events')
    .on('product.created', updateProduct)
    .on('product.updated', updateProduct)
    .on('product.deleted', deleteProduct)
    .on('user.registered', updateUser)
    .on('user.updated', updateUser)
}
