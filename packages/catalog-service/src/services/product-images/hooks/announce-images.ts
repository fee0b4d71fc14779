import type { Knex, ServiceApplication } from '@marketmesh/shared'
import { readyImageIds } from '../../../images/image'
import { productEvent } from '../../products/hooks/product-event'

/**
 * The product's images changed (one became ready, was moved or deleted): the product's next
 * version and its `product.updated`, with the ready images' ids in order, in the same transaction.
 */
export const announceImages = (app: ServiceApplication) => async (trx: Knex.Transaction, productId: string) => {
  const [product] = await trx('products')
    .where({ id: productId })
    .whereNull('deletedAt')
    .update({ updatedAt: trx.fn.now() })
    .increment('version', 1)
    .returning(['id', 'sellerId', 'version', 'parentId', 'title', 'price', 'currency', 'status'])
  if (!product) return
  await app.get('events').emit(trx, 'product.updated', { ...productEvent(product), imageIds: await readyImageIds(trx, productId) })
}
