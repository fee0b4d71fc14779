import { Conflict, NotAuthenticated, NotFound } from '@feathersjs/errors'
import type { Params } from '@feathersjs/feathers'
import { runInTransaction } from '@marketmesh/events'
import { durationMs, invalidField, type Knex, type ServiceApplication } from '@marketmesh/shared'
import { issueAccountToken, redeemAccountToken } from '../../account-tokens'
import type {
  EmailVerification,
  EmailVerificationConfirmation,
  EmailVerificationConfirmationData,
  EmailVerificationData
} from './email-verifications.schema'

export type { EmailVerification, EmailVerificationConfirmation, EmailVerificationConfirmationData, EmailVerificationData }

/**
 * Mails `user` a link that verifies their email, in `trx` (the write that made the email theirs):
 * a token good once for the lifetime of `emailVerification`, sent with `user.email_verification_requested`.
 * `welcome`: at registration, where the link goes in the welcome mail.
 */
export const requestEmailVerification = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  user: { id: string; email: string; shopName?: string | null },
  welcome: boolean
) => {
  const lifetimeMs = durationMs(app.get('emailVerification').tokenLifetime)
  const issued = await issueAccountToken(trx, { userId: user.id, email: user.email, purpose: 'email-verification', lifetimeMs })
  await app.get('events').emit(trx, 'user.email_verification_requested', {
    userId: user.id,
    email: user.email,
    ...issued,
    welcome,
    ...(user.shopName ? { shopName: user.shopName } : {})
  })
}

/** POST /email-verifications: mails the caller a new verification link (202); 409 once their email is verified. */
export class EmailVerificationService {
  constructor(private readonly app: ServiceApplication) {}

  async create(_data: EmailVerificationData, params: Params): Promise<EmailVerification> {
    const caller = params.principal
    if (!caller) throw new NotAuthenticated('Not authenticated')
    return runInTransaction(this.app.get('postgresqlClient'), async (trx) => {
      const user = await trx('users').first('id', 'email', 'emailVerifiedAt').where({ id: caller.id, status: 'active' }).forUpdate()
      if (!user) throw new NotFound('No active account of this access token')
      if (user.emailVerifiedAt) throw new Conflict('This email is verified already')
      await requestEmailVerification(this.app, trx, user, false)
      return { email: user.email }
    })
  }
}

/** POST /email-verifications/confirm: the token of a verification link marks the email it was mailed to verified, once. */
export class EmailVerificationConfirmationService {
  constructor(private readonly app: ServiceApplication) {}

  async create(data: EmailVerificationConfirmationData): Promise<EmailVerificationConfirmation> {
    return runInTransaction(this.app.get('postgresqlClient'), async (trx) => {
      const redeemed = await redeemAccountToken(trx, 'email-verification', data.token)
      if (!redeemed) throw invalidField('token', 'is unknown, used or expired; ask for a new link')
      const [user] = await trx('users')
        .where({ id: redeemed.userId })
        .update({ emailVerifiedAt: trx.raw('coalesce("emailVerifiedAt", now())') })
        .returning<{ emailVerifiedAt: Date }[]>('emailVerifiedAt')
      return { userId: redeemed.userId, emailVerifiedAt: user.emailVerifiedAt.toISOString() }
    })
  }
}
