import type { ServiceHookContext } from '@marketmesh/shared'
import { principalOf } from '@marketmesh/shared'

/**
 * A buyer sees their own orders, a seller their shop's, an admin all: as a query condition, so
 * another user's order answers 404 as if it did not exist.
 */
export const limitToOwnOrders = () => async (context: ServiceHookContext) => {
  if (!context.params.provider) return
  const principal = principalOf(context)
  const query = { ...context.params.query }
  if (principal.role === 'buyer') query.buyerId = principal.id
  else if (principal.role === 'seller') query.sellerId = principal.sellerId
  context.params.query = query
}
