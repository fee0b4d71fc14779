import type { Knex } from '@marketmesh/shared'

/**
 * Paying sellers: their accounts at the payment providers (one per seller and provider, its
 * status following the provider's `account.updated`), and a payout per order released from
 * escrow (a failed or reversed one followed by its retry, `retryOf`). The sellers' email (from
 * `user.*`) is kept to open their account at the provider.
 */
export async function up(knex: Knex) {
  await knex.schema.alterTable('users', (table) => {
    table.string('email')
  })
  await knex.schema.createTable('payout_accounts', (table) => {
    table.uuid('id').primary()
    table.uuid('sellerId').notNullable()
    table.string('provider').notNullable()
    // The provider's id of the account (Stripe: acct_…).
    table.string('accountId').notNullable()
    // pending, enabled, restricted
    table.string('status').notNullable()
    table.jsonb('requirements').notNullable().defaultTo('[]')
    // When the provider's newest applied `account.updated` was made: an older one changes nothing.
    table.timestamp('providerUpdatedAt', { useTz: true })
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('updatedAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.unique(['sellerId', 'provider'])
    table.unique(['provider', 'accountId'])
  })
  await knex.schema.createTable('payouts', (table) => {
    table.uuid('id').primary()
    table.uuid('sellerId').notNullable().index()
    table.uuid('orderId').notNullable().references('id').inTable('orders').index()
    table.string('provider').notNullable()
    table.integer('amount').notNullable()
    table.string('currency', 3).notNullable()
    // pending (waiting for the seller's account, or the transfer under way), paid, failed, reversed
    table.string('status').notNullable().index()
    // The provider's transfer id once paid.
    table.string('reference').index()
    table.string('accountId')
    table.string('failureReason')
    // Taken back of the transfer so far, by refunds (asked for) and by the provider.
    table.integer('reversedAmount').notNullable().defaultTo(0)
    // The failed or reversed payout this one pays again: each is retried once.
    table.uuid('retryOf').unique().references('id').inTable('payouts')
    table.timestamp('transferStartedAt', { useTz: true })
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('paidAt', { useTz: true })
  })
  await knex.raw('ALTER TABLE payouts ADD CONSTRAINT payouts_amount_not_negative CHECK (amount >= 0)')
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('payouts')
  await knex.schema.dropTable('payout_accounts')
  await knex.schema.alterTable('users', (table) => {
    table.dropColumn('email')
  })
}
