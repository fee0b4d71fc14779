import type { Knex } from '@marketmesh/shared'

/**
 * Orders' and payouts' revisions: 1 when made, one more per change the saga, the provider or a
 * person makes. Every order and payout event carries it, so a receiver (a webhook endpoint, a read
 * model) can order what arrives.
 */
export async function up(knex: Knex) {
  for (const table of ['orders', 'payouts']) {
    await knex.raw(`ALTER TABLE ${table} ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1)`)
  }
}

export async function down(knex: Knex) {
  for (const table of ['orders', 'payouts']) await knex.schema.alterTable(table, (columns) => columns.dropColumn('version'))
}
