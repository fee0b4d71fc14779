import type { EventHandler } from '@marketmesh/events'
import { updateBuyer } from './update-buyer'
import { updateSeller } from './update-seller'

/** A user's events feed two read models: a seller's shop, a buyer's display name (each ignores the other roles). */
export const updateUser: EventHandler<'user.registered' | 'user.updated'> = async (event, context) => {
  await updateSeller(event, context)
  await updateBuyer(event, context)
}
