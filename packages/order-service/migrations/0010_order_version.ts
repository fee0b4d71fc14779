import type { Knex } from '@marketmesh/shared'

/**
 * The order's revision: 1 when placed, one more per change the saga or a person makes. Every order
 * event carries it, so a receiver (a webhook endpoint, a read model) can order what arrives.
 */
export async function up(knex: Knex) {
  await knex.raw('ALTER TABLE orders ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1)')
}

export async function down(knex: Knex) {
  await knex.schema.alterTable('orders', (table) => table.dropColumn('version'))
}
