import type { Knex, Principal } from '@marketmesh/shared'

/** Each payload on it ends the streams of one caller on every instance: `device:<id>` or `user:<id>`. */
export const STREAM_CONTROL_CHANNEL = 'notify_stream_control'

/** The payload that names `principal`'s streams. */
export const streamOwner = (principal: Pick<Principal, 'id' | 'role'>) => `${principal.role === 'device' ? 'device' : 'user'}:${principal.id}`

/**
 * Ends the streams of a revoked device or a disabled user on every instance, and only if `trx`
 * commits: NOTIFY is delivered at commit, to each instance's log tail.
 */
export const endStreamsOnCommit = (trx: Knex.Transaction, principal: Pick<Principal, 'id' | 'role'>) =>
  trx.raw('SELECT pg_notify(?, ?)', [STREAM_CONTROL_CHANNEL, streamOwner(principal)])
