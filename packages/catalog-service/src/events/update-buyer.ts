import type { EventHandler } from '@marketmesh/events'

/** "Ada Lovelace" signs "Ada L.": enough to tell reviewers apart, too little to find the buyer. */
export const displayNameOf = (name: string) => {
  const words = name.trim().split(/\s+/).filter(Boolean)
  if (words.length < 2) return words[0] ?? ''
  return `${words[0]} ${Array.from(words.at(-1)!)[0].toUpperCase()}.`
}

/**
 * Keeps the buyers read model: the display name a buyer's reviews are signed with. Like the
 * sellers', an event whose version is not above the one held changes nothing.
 */
export const updateBuyer: EventHandler<'user.registered' | 'user.updated'> = async (event, { trx }) => {
  const { userId, version, role, name } = event.data
  if (role !== 'buyer') return
  await trx('buyers')
    .insert({ id: userId, displayName: displayNameOf(name), version })
    .onConflict('id')
    .merge()
    .whereRaw('buyers.version < excluded.version')
}
