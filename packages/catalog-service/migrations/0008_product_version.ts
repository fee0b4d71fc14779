import type { Knex } from '@marketmesh/shared'

/**
 * The product's revision, carried by `product.*` events so that read models (order-service's
 * products) order a product's events by it rather than by the publishing instance's clock.
 * Existing products start at 1.
 */
export async function up(knex: Knex) {
  await knex.raw('ALTER TABLE products ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1)')
}

export async function down(knex: Knex) {
  await knex.schema.alterTable('products', (table) => table.dropColumn('version'))
}
