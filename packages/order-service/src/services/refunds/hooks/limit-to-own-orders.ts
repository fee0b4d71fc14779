import { principalOf, type ServiceHookContext } from '@marketmesh/shared'
import type { RefundParams } from '../refunds.class'

/**
 * A buyer finds the refunds of their own orders, a seller those of their shop's, an admin all:
 * another's order's refunds are not found, as if there were none.
 */
export const limitToOwnOrders = () => async (context: ServiceHookContext) => {
  if (!context.params.provider) return
  const principal = principalOf(context)
  if (principal.role === 'admin') return
  // Anyone else sees only what they are named on; a seller's token without a shop, nothing.
  ;(context.params as RefundParams).ordersOf = principal.role === 'buyer' ? { buyerId: principal.id } : { sellerId: principal.sellerId ?? null }
}
