import type { Migration } from '@marketmesh/shared'

/**
 * `emailVerifiedAt`: when the user showed they read their email (null: not yet; accounts from before
 * verification existed start unverified). `account_tokens`: the one-time tokens mailed for a
 * password reset or an email verification, of which only a SHA-256 hash is kept, with the address
 * each was mailed to: it is good only while that is still the account's email.
 */
export const up: Migration['up'] = async (knex) => {
  await knex.raw('ALTER TABLE users ADD COLUMN "emailVerifiedAt" timestamptz')
  await knex.raw(`
    CREATE TABLE account_tokens (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      purpose text NOT NULL CHECK (purpose IN ('password-reset', 'email-verification')),
      token_hash text NOT NULL UNIQUE,
      email text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      used_at timestamptz
    )
  `)
  await knex.raw('CREATE INDEX account_tokens_user_id ON account_tokens (user_id, purpose)')
  await knex.raw('CREATE INDEX account_tokens_expires_at ON account_tokens (expires_at)')
}

export const down: Migration['down'] = async (knex) => {
  await knex.raw('DROP TABLE account_tokens')
  await knex.raw('ALTER TABLE users DROP COLUMN "emailVerifiedAt"')
}
