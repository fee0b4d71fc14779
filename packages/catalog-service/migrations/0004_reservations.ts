import type { Knex } from '@marketmesh/shared'

/** What each order holds of each product: a release gives back exactly this, once. */
export async function up(knex: Knex) {
  await knex.schema.createTable('reservations', (table) => {
    table.uuid('orderId').notNullable()
    table.uuid('productId').notNullable().references('id').inTable('products')
    table.integer('quantity').notNullable()
    table.timestamp('reservedAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('releasedAt', { useTz: true })
    table.primary(['orderId', 'productId'])
  })
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('reservations')
}
