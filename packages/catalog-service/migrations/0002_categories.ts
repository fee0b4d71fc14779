import type { Knex } from '@marketmesh/shared'

export async function up(knex: Knex) {
  await knex.schema.createTable('categories', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'))
    table.text('name').notNullable()
    table.uuid('parentId').references('id').inTable('categories').onDelete('RESTRICT')
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('updatedAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.index(['parentId'])
  })
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('categories')
}
