import type { Knex } from '@marketmesh/shared'

/**
 * The built-in `test` provider learns what a payment became (`lookup`) and to `void` a hold: an
 * authorization keeps the token it was made with (which tells the later calls how to behave), and
 * a capture or a void the authorization it acted on.
 */
export async function up(knex: Knex) {
  await knex.schema.alterTable('test_provider_outcomes', (table) => {
    table.string('token')
    table.string('authorizationId').index()
    // A capture or a void finds its authorization by the reference it was given.
    table.index('reference')
  })
}

export async function down(knex: Knex) {
  await knex.schema.alterTable('test_provider_outcomes', (table) => {
    table.dropIndex('reference')
    table.dropColumn('authorizationId')
    table.dropColumn('token')
  })
}
