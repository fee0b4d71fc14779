import type { Knex } from '@marketmesh/shared'

/**
 * Reviews are signed with a display name instead of the buyer's id: the buyers read model, fed by
 * `user.#` like the sellers', holds each buyer's, and a review keeps the one of the day it was
 * written. Reviews written before keep the default: their buyers' names were never recorded here.
 */
export async function up(knex: Knex) {
  await knex.schema.createTable('buyers', (table) => {
    table.uuid('id').primary()
    table.text('displayName').notNullable()
    table.integer('version').notNullable()
  })
  await knex.schema.alterTable('reviews', (table) => {
    table.text('displayName').notNullable().defaultTo('A verified buyer')
  })
}

export async function down(knex: Knex) {
  await knex.schema.alterTable('reviews', (table) => {
    table.dropColumn('displayName')
  })
  await knex.schema.dropTable('buyers')
}
