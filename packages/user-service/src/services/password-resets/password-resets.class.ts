import { LocalStrategy } from '@feathersjs/authentication-local'
import { runInTransaction } from '@marketmesh/events'
import { durationMs, invalidField, type ServiceApplication } from '@marketmesh/shared'
import { issueAccountToken, redeemAccountToken } from '../../account-tokens'
import { revokeUserSessions } from '../../authentication/sessions'
import type { PasswordReset, PasswordResetConfirmation, PasswordResetConfirmationData, PasswordResetData } from './password-resets.schema'

export type { PasswordReset, PasswordResetConfirmation, PasswordResetConfirmationData, PasswordResetData }

/**
 * POST /password-resets: mails a reset link to the account of `email`, if there is an active one.
 * The answer is the same (202, the email given back) either way, so that it tells nobody which
 * emails have an account. The link carries a token good once for the lifetime of `passwordReset`,
 * of which only a hash is stored; it reaches notify-service in `user.password_reset_requested`.
 */
export class PasswordResetService {
  constructor(private readonly app: ServiceApplication) {}

  async create(data: PasswordResetData): Promise<PasswordReset> {
    const db = this.app.get('postgresqlClient')
    const user = await db('users').first('id', 'email').where({ email: data.email, status: 'active' })
    if (user) {
      await runInTransaction(db, async (trx) => {
        const lifetimeMs = durationMs(this.app.get('passwordReset').tokenLifetime)
        const issued = await issueAccountToken(trx, { userId: user.id, email: user.email, purpose: 'password-reset', lifetimeMs })
        await this.app.get('events').emit(trx, 'user.password_reset_requested', { userId: user.id, email: user.email, ...issued })
      })
    }
    return { email: data.email }
  }
}

/**
 * POST /password-resets/confirm: the token of a reset link sets a new password, once. It ends every
 * session of the account (whoever knew the old password is logged out), and, as the link came by
 * mail, counts as a verification of the email.
 */
export class PasswordResetConfirmationService {
  constructor(private readonly app: ServiceApplication) {}

  async create(data: PasswordResetConfirmationData): Promise<PasswordResetConfirmation> {
    const local = this.app.service('authentication').getStrategy('local')
    if (!(local instanceof LocalStrategy)) throw new Error('password-resets: the local strategy is not registered')
    // Hashed ahead of the transaction: it takes a while and needs no lock.
    const hash = await local.hashPassword(data.password, {})
    return runInTransaction(this.app.get('postgresqlClient'), async (trx) => {
      const redeemed = await redeemAccountToken(trx, 'password-reset', data.token)
      if (!redeemed) throw invalidField('token', 'is unknown, used or expired; ask for a new link')
      const now = new Date()
      await trx('users')
        .where({ id: redeemed.userId })
        .update({ password: hash, updatedAt: now, emailVerifiedAt: trx.raw('coalesce("emailVerifiedAt", ?)', [now]) })
      await revokeUserSessions(trx, redeemed.userId)
      return { userId: redeemed.userId }
    })
  }
}
