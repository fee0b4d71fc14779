import type { Migration } from '@marketmesh/shared'

/** One row per refresh token issued; a family is one login session and all its rotations. */
export const up: Migration['up'] = async (knex) => {
  await knex.schema.createTable('refresh_tokens', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'))
    table.uuid('family_id').notNullable().index()
    table.uuid('user_id').notNullable().references('id').inTable('users').onDelete('CASCADE').index()
    table.text('token_hash').notNullable().unique()
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('expires_at', { useTz: true }).notNullable()
    table.timestamp('used_at', { useTz: true })
    table.timestamp('revoked_at', { useTz: true })
  })
}

export const down: Migration['down'] = async (knex) => {
  await knex.schema.dropTable('refresh_tokens')
}
