import type { ServiceHookContext } from '@marketmesh/shared'
import { shopOf } from '../../../shop'
import type { ProductService } from '../products.class'

/**
 * Outside callers see listed products; a seller also sees all of their own, an admin everything. A
 * read by id also shows an active product of a disabled seller, as `available: false` (a buyer's
 * link to it says why it cannot be bought); lists and search leave those out.
 */
export const listOnlyVisible = () => (context: ServiceHookContext<ProductService>) => {
  const { provider, principal } = context.params
  if (!provider || principal?.role === 'admin') return
  context.params.listing = {
    ...(principal?.role === 'seller' && { ownShop: shopOf(principal) }),
    ...(context.method === 'get' && { unavailableShops: true })
  }
}
