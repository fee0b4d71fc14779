import { Forbidden } from '@feathersjs/errors'
import type { ServiceHookContext } from '@marketmesh/shared'
import { shopOf } from '../../../shop'
import type { ProductService } from '../products.class'

/** Loads the product being changed (404 if there is none) and lets only its seller or an admin change it. */
export const requireOwnProduct = () => async (context: ServiceHookContext<ProductService>) => {
  const product = await context.service._get(context.id!, { transaction: context.params.transaction })
  const { principal } = context.params
  if (principal?.role === 'seller' && product.sellerId !== shopOf(principal)) {
    throw new Forbidden('A seller changes only the products of their own shop')
  }
  context.params.previous = product
}
