import type { EventHandler } from '@marketmesh/events'
import { appendNotification } from '../log/append'
import { endStreamsOnCommit } from '../stream/control'

/**
 * Keeps the users read model at its newest version (mail addresses, disabled accounts), ends the
 * streams of a user it disables, and tells the user about their account. The notification is
 * written whatever the version: it records the event, which happened whenever it arrives. (The
 * welcome mail goes with the registration's email verification link: see `mailAccountLink`.)
 * Conversations show the names kept here, so they follow too.
 */
export const notifyUser: EventHandler<'user.registered' | 'user.updated'> = async (event, { trx }) => {
  const { userId, email, name, role, status, version, shopName } = event.data
  await appendNotification(trx, {
    type: event.type,
    data: { userId, version, name, role, status, ...(shopName !== undefined && { shopName }) },
    audience: { userId },
    eventId: event.id
  })
  // After the append: this service's handlers take the log's lock before their row locks, so two
  // batches do not wait for each other in opposite order.
  const [written] = await trx('users')
    .insert({ id: userId, email, name, role, status, version, shopName: shopName ?? null })
    .onConflict('id')
    .merge()
    .whereRaw('users.version < excluded.version')
    .returning('status')
  // Only a write makes it the newest version: an older event arriving late changes nothing.
  if (written?.status === 'disabled') await endStreamsOnCommit(trx, { id: userId, role })
}
