import type { EventHandler } from '@marketmesh/events'

/** Buyer names and shop names for receipts, sellers' email to open their payout account; an event older than the version held changes nothing. */
export const updateUser: EventHandler<'user.registered' | 'user.updated'> = async (event, { trx }) => {
  const { userId, email, role, name, shopName, status, version } = event.data
  await trx('users')
    .insert({ id: userId, email, role, name, shopName: shopName ?? null, status, version })
    .onConflict('id')
    .merge()
    .whereRaw('users.version < excluded.version')
}
