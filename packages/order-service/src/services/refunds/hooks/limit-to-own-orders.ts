import { principalOf, type ServiceHookContext } from '@marketmesh/shared'
import type { RefundParams } from '../refunds.class'

/**
 * A buyer finds the refunds of their own orders, a seller those of their shop's, an admin all:
 * another's order's refunds are not found, as if there were none.
 */
export const limitToOwnOrders = () => async (context: ServiceHookContext) => {
  if (!context.params.provider) return
  const principal = principalOf(context)
  const params = context.params as RefundParams
  if (principal.role === 'buyer') params.ordersOf = { buyerId: principal.id }
  else if (principal.role === 'seller') params.ordersOf = { sellerId: principal.sellerId! }
}
