import type { Migration } from '@marketmesh/shared'

/**
 * `replaced_by`: the token a rotation issued in place of this one, which a client presenting this one
 * again within the reuse grace gets once more. The index serves the purge of expired tokens.
 */
export const up: Migration['up'] = async (knex) => {
  await knex.raw('ALTER TABLE refresh_tokens ADD COLUMN replaced_by uuid REFERENCES refresh_tokens (id) ON DELETE SET NULL')
  await knex.raw('CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at)')
}

export const down: Migration['down'] = async (knex) => {
  await knex.raw('DROP INDEX refresh_tokens_expires_at')
  await knex.raw('ALTER TABLE refresh_tokens DROP COLUMN replaced_by')
}
