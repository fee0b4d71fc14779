import type { EventHandler } from '@marketmesh/shared'
import { appendNotification } from '../log/append'

/**
 * Keeps the users read model at its newest version (mail addresses, disabled accounts) and tells
 * the user about their account. The notification is written whatever the version: it records
 * the event, and a late one is still news to no one but the log.
 */
export const notifyUser: EventHandler<'user.registered' | 'user.updated'> = async (event, { trx }) => {
  const { userId, email, name, role, status, version, shopName } = event.data
  await trx('users').insert({ id: userId, email, name, role, status, version }).onConflict('id').merge().whereRaw('users.version < excluded.version')
  await appendNotification(trx, {
    type: event.type,
    data: { userId, version, name, role, status, ...(shopName !== undefined && { shopName }) },
    audience: { userId },
    eventId: event.id
  })
}
