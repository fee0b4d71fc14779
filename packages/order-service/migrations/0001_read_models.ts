import type { Knex } from '@marketmesh/shared'

/**
 * What order-service keeps of other services' data, fed by their events: products (to validate
 * and split a checkout) and users (buyer names and shop names for receipts). `version` is the
 * publisher's per-aggregate version: an older event never overwrites a newer one.
 */
export async function up(knex: Knex) {
  await knex.schema.createTable('products', (table) => {
    table.uuid('id').primary()
    table.uuid('sellerId').notNullable()
    table.string('title').notNullable()
    table.integer('price').notNullable()
    table.string('currency', 3).notNullable()
    table.string('status').notNullable()
    table.boolean('deleted').notNullable().defaultTo(false)
    table.integer('version').notNullable()
  })
  await knex.schema.createTable('users', (table) => {
    table.uuid('id').primary()
    table.string('role').notNullable()
    table.string('name').notNullable()
    table.string('shopName')
    table.string('status').notNullable()
    table.integer('version').notNullable()
  })
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('users')
  await knex.schema.dropTable('products')
}
