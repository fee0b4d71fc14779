import type { Migration } from '@marketmesh/shared'

/**
 * The user's revision, carried by `user.registered` / `user.updated` so that read models order a
 * user's events by it rather than by the publishing instance's clock. Existing users start at 1.
 */
export const up: Migration['up'] = async (knex) => {
  await knex.raw('ALTER TABLE users ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1)')
}

export const down: Migration['down'] = async (knex) => {
  await knex.schema.alterTable('users', (table) => table.dropColumn('version'))
}
