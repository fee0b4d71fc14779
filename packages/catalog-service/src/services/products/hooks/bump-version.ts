import { transactionOf, type ServiceHookContext } from '@marketmesh/shared'
import type { Product, ProductService } from '../products.class'

/**
 * After a patch or a remove, before its product.updated / product.deleted: the next version,
 * incremented in SQL within the change's transaction. The row stays locked until commit, so
 * concurrent changes get distinct versions.
 */
export const bumpVersion = () => async (context: ServiceHookContext<ProductService>) => {
  const product = context.result as Product
  const [{ version }] = await transactionOf(context)('products').where({ id: context.id }).increment('version', 1).returning('version')
  product.version = version
}
