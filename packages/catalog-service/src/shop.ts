import type { Principal } from '@marketmesh/shared'

/** The shop a seller acts for: the token's `sellerId`, else the seller's own user id. */
export const shopOf = (principal: Principal) => principal.sellerId ?? principal.id
