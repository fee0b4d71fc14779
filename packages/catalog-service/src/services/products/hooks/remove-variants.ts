import { transactionOf, type ServiceHookContext } from '@marketmesh/shared'
import type { ProductService } from '../products.class'
import { productDeletedEvent } from './product-event'

/**
 * Removing a product removes its variants with it. Each variant's version goes up too: a consumer
 * must never take an update that arrives after its product.deleted for the newer of the two.
 */
export const removeVariants = () => async (context: ServiceHookContext<ProductService>) => {
  const trx = transactionOf(context)
  const variants = await trx('products')
    .where({ parentId: context.id, deletedAt: null })
    .update({ deletedAt: trx.fn.now(), updatedAt: trx.fn.now() })
    .increment('version', 1)
    .returning(['id', 'sellerId', 'version'])
  await context.app.get('events').emitAll(trx, 'product.deleted', variants.map(productDeletedEvent))
}
