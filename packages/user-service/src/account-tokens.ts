import { randomBytes } from 'node:crypto'
import { purgeInBatches } from '@marketmesh/events'
import { type Knex } from '@marketmesh/shared'
import { hashToken } from './authentication/sessions'

/** What a token mailed to a user lets its holder do once. */
export type AccountTokenPurpose = 'password-reset' | 'email-verification'

// Recognisable in a mail or a leak report, like refresh tokens' `mmrt_`.
const PREFIXES: Record<AccountTokenPurpose, string> = { 'password-reset': 'mmpr_', 'email-verification': 'mmev_' }

export interface IssuedAccountToken {
  token: string
  expiresAt: string
}

/**
 * Makes a 256-bit random token for `purpose`, good for `lifetimeMs`, to be mailed to `email`; only its
 * SHA-256 hash is stored. Answers the token itself, which the caller hands to the mail and forgets.
 */
export const issueAccountToken = async (
  db: Knex,
  { userId, email, purpose, lifetimeMs }: { userId: string; email: string; purpose: AccountTokenPurpose; lifetimeMs: number }
): Promise<IssuedAccountToken> => {
  const token = `${PREFIXES[purpose]}${randomBytes(32).toString('base64url')}`
  const expiresAt = new Date(Date.now() + lifetimeMs)
  await db('account_tokens').insert({ user_id: userId, purpose, email, token_hash: hashToken(token), expires_at: expiresAt })
  return { token, expiresAt: expiresAt.toISOString() }
}

/**
 * Uses `token` up, in one statement (of two redeeming it at once, one gets it): answers its user if
 * it is a token for `purpose`, unused, unexpired, its account active, and the address it was mailed
 * to still the account's email; otherwise undefined. Every other token of the user for `purpose` is
 * used up with it: one reset or verification ends the links mailed before.
 */
export const redeemAccountToken = async (trx: Knex.Transaction, purpose: AccountTokenPurpose, token: string) => {
  const { rows } = await trx.raw<{ rows: { userId: string }[] }>(
    `UPDATE account_tokens AS t SET used_at = now()
     FROM users AS u
     WHERE t.token_hash = ? AND t.purpose = ? AND t.used_at IS NULL AND t.expires_at > now()
       AND u.id = t.user_id AND u.email = t.email AND u.status = 'active'
     RETURNING t.user_id AS "userId"`,
    [hashToken(token), purpose]
  )
  const [redeemed] = rows
  if (!redeemed) return undefined
  await trx('account_tokens').where({ user_id: redeemed.userId, purpose }).whereNull('used_at').update({ used_at: trx.fn.now() })
  return redeemed
}

/** Deletes the tokens nobody can use any more: expired or used. */
export const purgeAccountTokens = (db: Knex) => purgeInBatches(db, 'account_tokens', 'expires_at <= now() OR used_at IS NOT NULL', [])
