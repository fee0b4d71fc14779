import type { Knex } from '@marketmesh/shared'

/**
 * When an order's payment started (the catalog reserved its stock): from then on only the payment's
 * outcome ends it. And the built-in `test` provider's own records, standing in for a provider's
 * systems: its outcome per idempotency key, and every call made to it.
 */
export async function up(knex: Knex) {
  await knex.schema.alterTable('orders', (table) => {
    table.timestamp('paymentStartedAt', { useTz: true })
  })
  await knex.schema.createTable('test_provider_outcomes', (table) => {
    table.string('idempotencyKey').primary()
    table.string('operation').notNullable()
    table.string('result').notNullable()
    table.string('reference').notNullable()
    table.integer('amount').notNullable()
    table.string('currency', 3).notNullable()
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
  })
  await knex.schema.createTable('test_provider_calls', (table) => {
    table.bigIncrements('id')
    table.string('operation').notNullable()
    table.string('idempotencyKey').notNullable().index()
    // What the provider answered: succeeded, declined, unavailable, or replayed (a stored outcome again).
    table.string('result').notNullable()
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
  })
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('test_provider_calls')
  await knex.schema.dropTable('test_provider_outcomes')
  await knex.schema.alterTable('orders', (table) => {
    table.dropColumn('paymentStartedAt')
  })
}
