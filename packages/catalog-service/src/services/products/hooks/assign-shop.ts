import { Forbidden } from '@feathersjs/errors'
import { invalidField, type ServiceHookContext } from '@marketmesh/shared'
import { shopOf } from '../../../shop'
import type { ProductService } from '../products.class'

/** A seller creates products in their own shop; an admin names the shop. */
export const assignShop = () => (context: ServiceHookContext<ProductService>) => {
  const data = context.data as { sellerId?: string }
  const { principal } = context.params
  if (principal?.role === 'seller') {
    const shop = shopOf(principal)
    if (data.sellerId !== undefined && data.sellerId !== shop) throw new Forbidden('A seller creates products only in their own shop')
    data.sellerId = shop
  } else if (data.sellerId === undefined) {
    throw invalidField('sellerId', 'is required when an admin creates a product')
  }
}
