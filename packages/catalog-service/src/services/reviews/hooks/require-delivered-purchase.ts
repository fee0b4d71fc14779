import { Conflict, Forbidden } from '@feathersjs/errors'
import { transactionOf, type ServiceHookContext } from '@marketmesh/shared'
import type { ReviewData, ReviewService } from '../reviews.class'

/**
 * Only the buyer of a delivered order reviews its products, once per product per order. The
 * purchase row is locked so that two simultaneous attempts cannot both pass the check.
 */
export const requireDeliveredPurchase = () => async (context: ServiceHookContext<ReviewService>) => {
  const { productId, orderId, buyerId } = context.data as ReviewData
  const trx = transactionOf(context)
  const purchase = await trx('purchases').where({ orderId, productId, buyerId }).forUpdate().first('orderId')
  if (!purchase) throw new Forbidden('Only a buyer whose order with this product was delivered may review it')
  if (await trx('reviews').where({ orderId, productId }).first('id')) {
    throw new Conflict('This product of this order has already been reviewed')
  }
}
