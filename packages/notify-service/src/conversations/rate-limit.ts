import { TooManyRequests } from '@feathersjs/errors'
import type { Knex } from '@marketmesh/shared'

/** At most this many messages per sender within `MESSAGE_WINDOW_SECONDS`, on every instance together. */
export const MESSAGES_PER_WINDOW = 30
export const MESSAGE_WINDOW_SECONDS = 60

// First key of the two-key advisory locks that serialise one sender's posts (a key space of its own).
const SENDER_LOCK = 0x636f6e76

/**
 * Counts the sender's messages of the last minute in the messages table itself, under a lock per
 * sender held to commit, so that posts at once cannot all pass the count. Over the limit: 429, with
 * `retryAfter` (sent as Retry-After) the seconds until the oldest of them leaves the window.
 */
export const takeMessageSlot = async (trx: Knex.Transaction, senderId: string) => {
  await trx.raw('SELECT pg_advisory_xact_lock(?, hashtext(?))', [SENDER_LOCK, senderId])
  const { rows } = await trx.raw<{ rows: Array<{ sent: number; retryAfter: number | null }> }>(
    `SELECT count(*)::integer AS sent,
            ceil(extract(epoch FROM min("createdAt") + make_interval(secs => ?) - now()))::integer AS "retryAfter"
       FROM (SELECT "createdAt" FROM conversation_messages
              WHERE "senderId" = ? AND "createdAt" > now() - make_interval(secs => ?)
              ORDER BY "createdAt" DESC LIMIT ?) AS recent`,
    [MESSAGE_WINDOW_SECONDS, senderId, MESSAGE_WINDOW_SECONDS, MESSAGES_PER_WINDOW]
  )
  const [{ sent, retryAfter }] = rows
  if (sent < MESSAGES_PER_WINDOW) return
  const seconds = Math.max(1, retryAfter ?? MESSAGE_WINDOW_SECONDS)
  throw new TooManyRequests(`At most ${MESSAGES_PER_WINDOW} messages a minute; try again in ${seconds} seconds`, { retryAfter: seconds })
}
