import type { Migration } from '@marketmesh/shared'

/**
 * Rate-limit counters, shared by every instance of the service: one row per key (a login email, a
 * client IP, ...) counting the hits of the window that began with its first hit and ends at
 * `expires_at`. A hit after that starts the key's next window in the same row; rows nobody hit
 * again are purged.
 */
export const up: Migration['up'] = async (knex) => {
  await knex.raw(`
    CREATE TABLE rate_limits (
      key text PRIMARY KEY,
      hits integer NOT NULL CHECK (hits >= 0),
      expires_at timestamptz NOT NULL
    )
  `)
  await knex.raw('CREATE INDEX rate_limits_expires_at ON rate_limits (expires_at)')
}

export const down: Migration['down'] = async (knex) => {
  await knex.raw('DROP TABLE rate_limits')
}
