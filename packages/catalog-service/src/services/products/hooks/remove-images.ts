import { transactionOf, type ServiceHookContext } from '@marketmesh/shared'
import { discardImagesOfProducts } from '../../../images/cleanup'
import type { ProductService } from '../products.class'

/**
 * After a remove (and removeVariants): the images of the product and of its variants go with them,
 * their rows in the removal's transaction and their files by a side effect after commit.
 */
export const removeImages = () => async (context: ServiceHookContext<ProductService>) => {
  const trx = transactionOf(context)
  const removed: string[] = (
    await trx('products')
      .where((product) => product.where({ id: context.id }).orWhere({ parentId: context.id }))
      .whereNotNull('deletedAt')
      .select('id')
  ).map(({ id }) => id)
  await discardImagesOfProducts(trx, context.app.get('events').effects, removed)
}
