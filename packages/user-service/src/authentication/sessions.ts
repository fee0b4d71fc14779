import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto'
import { NotAuthenticated } from '@feathersjs/errors'
import { purgeInBatches, runInTransaction } from '@marketmesh/events'
import { type Knex } from '@marketmesh/shared'

const REFRESH_TOKEN_PREFIX = 'mmrt_'

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')

const randomToken = () => `${REFRESH_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`

/**
 * The successor a rotation issues for `refreshToken`, from that token and the successor's row id.
 * Presented again within the reuse grace, the token yields the very same successor, though only
 * hashes are stored; neither part alone gives it (the token is only the client's, the id only the
 * database's).
 */
const successorOf = (refreshToken: string, successorId: string) =>
  `${REFRESH_TOKEN_PREFIX}${createHmac('sha256', refreshToken).update(successorId).digest('base64url')}`

/** What a login or a refresh hands out besides the access token. */
export interface Session {
  /** The refresh token family: one login and all its rotations. Access tokens carry it as `sid`. */
  sessionId: string
  refreshToken: string
}

export interface SessionOptions {
  /** How long a refresh token may be used. */
  lifetimeMs: number
  /** How long after its use a refresh token still returns its successor (see `rotate`). */
  reuseGraceMs: number
}

/** Ends every session of a user (password changed, account disabled). */
export const revokeUserSessions = (db: Knex, userId: string) =>
  db('refresh_tokens').where({ user_id: userId }).whereNull('revoked_at').update({ revoked_at: db.fn.now() })

/**
 * Deletes the refresh tokens nobody can use: expired ones, spent or not, and revoked ones, which are
 * refused like unknown ones. A spent token stays until it expires: presented after its grace, it is
 * what gives a copied token away and ends its session.
 */
export const purgeSessions = (db: Knex) => purgeInBatches(db, 'refresh_tokens', 'expires_at <= now() OR revoked_at IS NOT NULL', [])

const refusals = {
  unknown: 'Invalid refresh token',
  reused: 'Refresh token already used; the session is revoked, log in again',
  expired: 'Refresh token expired, log in again'
}

/**
 * Refresh tokens: opaque random strings of which only a SHA-256 hash is stored. Each one is good
 * for one use, which returns its successor in the same family.
 */
export class SessionStore {
  constructor(
    private readonly db: Knex,
    private readonly options: SessionOptions
  ) {}

  start(userId: string) {
    return this.issue(this.db, { id: randomUUID(), familyId: randomUUID(), userId, refreshToken: randomToken() })
  }

  /**
   * Trades a refresh token for its successor. A token presented again within the reuse grace of its
   * use returns the same successor, as long as that is unused (two tabs refreshing at once, a client
   * retrying a refresh whose answer it lost), as Auth0's and Okta's rotation do. Presented after the
   * grace, the token was copied: the whole family is revoked (committed before refusing), so neither
   * copy goes on working.
   */
  async rotate(refreshToken: string): Promise<Session & { userId: string }> {
    const outcome = await runInTransaction(this.db, async (trx) => {
      // The row lock makes a concurrent rotation of the same token wait, then find it used.
      const row = await trx('refresh_tokens')
        .first(
          'id',
          'family_id',
          'user_id',
          'used_at',
          'revoked_at',
          'replaced_by',
          trx.raw('expires_at <= now() AS expired'),
          trx.raw('used_at > now() - make_interval(secs => ?::float / 1000) AS in_grace', [this.options.reuseGraceMs])
        )
        .where({ token_hash: hashToken(refreshToken) })
        .forUpdate()
      if (!row || row.revoked_at) return 'unknown' as const
      const userId: string = row.user_id
      if (row.used_at) {
        const successor = row.in_grace && row.replaced_by ? await this.unusedSuccessor(trx, refreshToken, row.replaced_by) : undefined
        if (successor) return { userId, sessionId: row.family_id, refreshToken: successor }
        await this.revokeFamily(trx, row.family_id)
        return 'reused' as const
      }
      if (row.expired) return 'expired' as const
      const successorId = randomUUID()
      const session = await this.issue(trx, {
        id: successorId,
        familyId: row.family_id,
        userId,
        refreshToken: successorOf(refreshToken, successorId)
      })
      await trx('refresh_tokens').where({ id: row.id }).update({ used_at: trx.fn.now(), replaced_by: successorId })
      return { userId, ...session }
    })
    if (typeof outcome === 'string') throw new NotAuthenticated(refusals[outcome])
    return outcome
  }

  /** Logout: no token of the session works any more. */
  revoke(sessionId: string) {
    return this.revokeFamily(this.db, sessionId)
  }

  private revokeFamily(db: Knex, familyId: string) {
    return db('refresh_tokens').where({ family_id: familyId }).whereNull('revoked_at').update({ revoked_at: db.fn.now() })
  }

  /** The successor rotation gave `refreshToken`, if nobody has used or revoked it since. */
  private async unusedSuccessor(trx: Knex.Transaction, refreshToken: string, successorId: string) {
    const successor = successorOf(refreshToken, successorId)
    const unused = await trx('refresh_tokens')
      .first('id')
      .where({ id: successorId, token_hash: hashToken(successor) })
      .whereNull('used_at')
      .whereNull('revoked_at')
      .where('expires_at', '>', trx.fn.now())
    return unused ? successor : undefined
  }

  private async issue(db: Knex, token: { id: string; familyId: string; userId: string; refreshToken: string }): Promise<Session> {
    const { id, familyId, userId, refreshToken } = token
    await db('refresh_tokens').insert({
      id,
      family_id: familyId,
      user_id: userId,
      token_hash: hashToken(refreshToken),
      expires_at: new Date(Date.now() + this.options.lifetimeMs)
    })
    return { sessionId: familyId, refreshToken }
  }
}
