import type { Migration } from '@marketmesh/shared'

/** Sellers' warehouse appliances. Only the hash of a device's token is kept; revoking keeps the row. */
export const up: Migration['up'] = async (knex) => {
  await knex.schema.createTable('devices', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'))
    table.uuid('sellerId').notNullable().references('id').inTable('users').index()
    table.text('name').notNullable()
    table.text('tokenHash').notNullable().unique()
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('revokedAt', { useTz: true })
  })
}

export const down: Migration['down'] = async (knex) => {
  await knex.schema.dropTable('devices')
}
