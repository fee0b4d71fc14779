import type { EventHandler } from '@marketmesh/events'
import { lockSellerExclusively } from './seller-lock'

/**
 * Keeps the sellers read model: the shop name shown on products, and whether the account is
 * disabled (its products leave the listings). Events of one user arrive in any order: one whose
 * version is not above the one held changes nothing.
 */
export const updateSeller: EventHandler<'user.registered' | 'user.updated'> = async (event, { trx }) => {
  const { userId, version, role, name, shopName, status } = event.data
  if (role !== 'seller') return
  await lockSellerExclusively(trx, userId)
  const applied = await trx('sellers')
    .insert({ id: userId, shopName: shopName ?? name, status, version })
    .onConflict('id')
    .merge()
    .whereRaw('sellers.version < excluded.version')
    .returning('id')
  if (applied.length === 0) return
  await trx('products')
    .where({ sellerId: userId })
    .whereNot({ sellerDisabled: status === 'disabled' })
    .update({ sellerDisabled: status === 'disabled' })
}
