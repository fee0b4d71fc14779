import type { EventHandler } from '@marketmesh/shared'
import { lockSellerExclusively } from './seller-lock'

/**
 * Keeps the sellers read model: the shop name shown on products, and whether the account is
 * disabled (its products leave the listings). An event older than what is held changes nothing.
 */
export const updateSeller: EventHandler<'user.registered' | 'user.updated'> = async (event, { trx }) => {
  const { userId, role, name, shopName, status } = event.data
  if (role !== 'seller') return
  await lockSellerExclusively(trx, userId)
  const applied = await trx('sellers')
    .insert({ id: userId, shopName: shopName ?? name, status, asOf: event.occurredAt })
    .onConflict('id')
    .merge()
    .where('sellers.asOf', '<=', event.occurredAt)
    .returning('id')
  if (applied.length === 0) return
  await trx('products')
    .where({ sellerId: userId })
    .whereNot({ sellerDisabled: status === 'disabled' })
    .update({ sellerDisabled: status === 'disabled' })
}
