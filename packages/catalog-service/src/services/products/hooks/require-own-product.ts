import { Forbidden, NotFound } from '@feathersjs/errors'
import type { ServiceHookContext } from '@marketmesh/shared'
import { shopOf } from '../../../shop'
import type { ProductService } from '../products.class'

/**
 * Loads the product being changed as the caller sees it (after `listOnlyVisible`), locked until the
 * transaction ends, and lets only its seller or an admin change it. What the caller cannot see
 * (another shop's archived product) is 404, as if it did not exist; a listed product, which anyone
 * sees, is 403 to the other shops.
 */
export const requireOwnProduct = () => async (context: ServiceHookContext<ProductService>) => {
  const { transaction, listing, principal } = context.params
  const product = await context.service.createQuery({ transaction, listing }).where('products.id', context.id!).forUpdate().first()
  if (!product) throw new NotFound(`No record found for id '${context.id}'`)
  if (principal?.role === 'seller' && product.sellerId !== shopOf(principal)) {
    throw new Forbidden('A seller changes only the products of their own shop')
  }
  context.params.previous = product
}
