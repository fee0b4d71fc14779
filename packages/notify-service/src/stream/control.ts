import type { Knex, Principal } from '@marketmesh/shared'

/**
 * Each payload on it ends the streams of one caller on every instance: `device:<id>`, or `user:<id>`
 * (also those of the devices of a seller's shop).
 */
export const STREAM_CONTROL_CHANNEL = 'notify_stream_control'

/** The payload that names `principal`'s streams. */
export const streamOwner = (principal: Pick<Principal, 'id' | 'role'>) => `${principal.role === 'device' ? 'device' : 'user'}:${principal.id}`

/** The payloads that end `principal`'s streams: its own, and a device's seller's (a disabled seller's devices are refused). */
export const streamOwners = (principal: Principal) =>
  principal.role === 'device' && principal.sellerId
    ? [streamOwner(principal), streamOwner({ id: principal.sellerId, role: 'seller' })]
    : [streamOwner(principal)]

/**
 * Ends the streams of a revoked device or a disabled user on every instance, and only if `trx`
 * commits: NOTIFY is delivered at commit, to each instance's log tail.
 */
export const endStreamsOnCommit = (trx: Knex.Transaction, principal: Pick<Principal, 'id' | 'role'>) =>
  trx.raw('SELECT pg_notify(?, ?)', [STREAM_CONTROL_CHANNEL, streamOwner(principal)])

/** What the streams open on this instance offer control (the hub, which names owners by `streamOwners`). */
export interface OpenStreams {
  callers(): Principal[]
  end(owner: string): void
}

/**
 * A notice sent while this instance's listener was down never reaches it: once it listens again,
 * it ends the streams of the devices revoked and the users disabled meanwhile (with their devices),
 * read from the tables those notices follow.
 */
export const endStreamsRevokedMeanwhile = async (db: Knex, hub: OpenStreams) => {
  const callers = hub.callers()
  const devices = [...new Set(callers.filter(({ role }) => role === 'device').map(({ id }) => id))]
  // A device's stream also ends with its seller's account.
  const users = [...new Set(callers.map(({ role, id, sellerId }) => (role === 'device' ? sellerId! : id)))]
  const [revoked, disabled] = await Promise.all([
    devices.length ? db('device_credentials').pluck('id').whereRaw('id = ANY(?::uuid[])', [devices]).whereNotNull('revoked_at') : [],
    users.length ? db('users').pluck('id').whereRaw('id = ANY(?::uuid[])', [users]).where({ status: 'disabled' }) : []
  ])
  for (const id of revoked) hub.end(streamOwner({ id, role: 'device' }))
  for (const id of disabled) hub.end(streamOwner({ id, role: 'buyer' }))
}
