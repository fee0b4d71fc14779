import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { NotAuthenticated } from '@feathersjs/errors'
import type { Knex } from '@marketmesh/shared'

const REFRESH_TOKEN_PREFIX = 'mmrt_'

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')

/** What a login or a refresh hands out besides the access token. */
export interface Session {
  /** The refresh token family: one login and all its rotations. Access tokens carry it as `sid`. */
  sessionId: string
  refreshToken: string
}

/** Ends every session of a user (password changed, account disabled). */
export const revokeUserSessions = (db: Knex, userId: string) =>
  db('refresh_tokens').where({ user_id: userId }).whereNull('revoked_at').update({ revoked_at: db.fn.now() })

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
    private readonly lifetimeMs: number
  ) {}

  start(userId: string) {
    return this.issue(this.db, userId, randomUUID())
  }

  /**
   * Trades a refresh token for its successor. A token presented twice was copied: the whole family
   * is revoked (committed before refusing), so neither copy goes on working.
   */
  async rotate(refreshToken: string): Promise<Session & { userId: string }> {
    const outcome = await this.db.transaction(async (trx) => {
      const row = await trx('refresh_tokens')
        .first('id', 'family_id', 'user_id', 'used_at', 'revoked_at', trx.raw('expires_at <= now() AS expired'))
        .where({ token_hash: hashToken(refreshToken) })
        .forUpdate()
      if (!row || row.revoked_at) return 'unknown' as const
      if (row.used_at) {
        await this.revokeFamily(trx, row.family_id)
        return 'reused' as const
      }
      if (row.expired) return 'expired' as const
      await trx('refresh_tokens').where({ id: row.id }).update({ used_at: trx.fn.now() })
      return { userId: row.user_id as string, ...(await this.issue(trx, row.user_id, row.family_id)) }
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

  private async issue(db: Knex, userId: string, familyId: string): Promise<Session> {
    const refreshToken = `${REFRESH_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`
    await db('refresh_tokens').insert({
      family_id: familyId,
      user_id: userId,
      token_hash: hashToken(refreshToken),
      expires_at: new Date(Date.now() + this.lifetimeMs)
    })
    return { sessionId: familyId, refreshToken }
  }
}
