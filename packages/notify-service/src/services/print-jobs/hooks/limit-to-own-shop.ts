import { principalOf, type ServiceHookContext } from '@marketmesh/shared'

/**
 * A seller and the shop's devices see the shop's print jobs, an admin all: as a query condition,
 * so another shop's job answers 404 as if it did not exist.
 */
export const limitToOwnShop = () => async (context: ServiceHookContext) => {
  if (!context.params.provider) return
  const principal = principalOf(context)
  if (principal.role !== 'admin') context.params.query = { ...context.params.query, sellerId: principal.sellerId }
}
