import { transactionOf, type ServiceHookContext } from '@marketmesh/shared'
import type { ProductService } from '../products.class'

/** Removing a product removes its variants with it. */
export const removeVariants = () => async (context: ServiceHookContext<ProductService>) => {
  const trx = transactionOf(context)
  const variants = await trx('products')
    .where({ parentId: context.id, deletedAt: null })
    .update({ deletedAt: trx.fn.now(), updatedAt: trx.fn.now() })
    .returning(['id', 'sellerId'])
  await context.app.get('events').emitAll(
    trx,
    'product.deleted',
    variants.map((variant) => ({ productId: variant.id, sellerId: variant.sellerId }))
  )
}
