import type { Knex } from '@marketmesh/shared'

/** The read model of sellers, fed by `user.#`: shop names on products, and who is disabled. */
export async function up(knex: Knex) {
  await knex.schema.createTable('sellers', (table) => {
    table.uuid('id').primary()
    table.text('shopName').notNullable()
    table.text('status').notNullable()
    // When the user-service state we hold was true: an older event never overwrites a newer one.
    table.timestamp('asOf', { useTz: true }).notNullable()
  })
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('sellers')
}
