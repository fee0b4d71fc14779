import type { Knex } from '@marketmesh/shared'

export async function up(knex: Knex) {
  // Fed by `order.delivered`: who may review what.
  await knex.schema.createTable('purchases', (table) => {
    table.uuid('orderId').notNullable()
    table.uuid('productId').notNullable()
    table.uuid('buyerId').notNullable()
    table.timestamp('deliveredAt', { useTz: true }).notNullable()
    table.primary(['orderId', 'productId'])
  })
  await knex.schema.createTable('reviews', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'))
    table.uuid('productId').notNullable().references('id').inTable('products')
    table.uuid('orderId').notNullable()
    table.uuid('buyerId').notNullable()
    table.jsonb('ratings').notNullable()
    table.text('comment').notNullable().defaultTo('')
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    // A review needs a delivered purchase, and there is one review per product per order.
    table.unique(['orderId', 'productId'])
    table.foreign(['orderId', 'productId']).references(['orderId', 'productId']).inTable('purchases')
    table.index(['productId', 'createdAt'])
  })
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('reviews')
  await knex.schema.dropTable('purchases')
}
