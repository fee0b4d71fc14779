import { principalOf, type ServiceHookContext } from '@marketmesh/shared'

/**
 * A seller finds only their shop's records (`params.sellerId`; a seller's token without a shop,
 * none); an admin all. For the services whose rows name their seller (payout accounts, payouts).
 */
export const limitToOwnShop = () => async (context: ServiceHookContext) => {
  if (!context.params.provider) return
  const principal = principalOf(context)
  if (principal.role !== 'admin') (context.params as { sellerId?: string | null }).sellerId = principal.sellerId ?? null
}
