import type { Knex } from '@marketmesh/shared'

/**
 * The sellers read model orders a user's events by the user's version instead of by `asOf` (the
 * publishing instance's clock, which differs between instances and repeats within a millisecond).
 * Rows from before hold version 0: older than any event.
 */
export async function up(knex: Knex) {
  await knex.schema.alterTable('sellers', (table) => {
    table.integer('version').notNullable().defaultTo(0)
    table.dropColumn('asOf')
  })
}

// Back to `asOf`, with now() for every row: what the dropped column held is gone.
export async function down(knex: Knex) {
  await knex.raw(`ALTER TABLE sellers ADD COLUMN "asOf" timestamptz NOT NULL DEFAULT now(), DROP COLUMN version`)
  await knex.raw(`ALTER TABLE sellers ALTER COLUMN "asOf" DROP DEFAULT`)
}
