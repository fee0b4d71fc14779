import type { Knex } from '@marketmesh/shared'

/**
 * One payment per checkout: the buyer's total authorized once, what the sellers reserved captured
 * once, the refunds of its orders paid back from it. And the provider webhooks handled, one row per
 * provider and event id: an event delivered again finds its row and changes nothing. The `test`
 * provider's records name the payment a call acted on (`paymentId`, its authorization's reference).
 */
export async function up(knex: Knex) {
  await knex.schema.createTable('payments', (table) => {
    table.uuid('id').primary()
    table.uuid('checkoutId').notNullable().unique().references('id').inTable('checkouts')
    table.string('provider').notNullable()
    // The provider's id of the payment (Stripe: the PaymentIntent), once it has answered.
    table.string('paymentId')
    // authorizing, requires_action, authorized, captured, voided, failed
    table.string('status').notNullable()
    table.integer('amount').notNullable()
    table.integer('captured').notNullable().defaultTo(0)
    table.integer('refunded').notNullable().defaultTo(0)
    table.string('currency', 3).notNullable()
    // What the buyer's app confirms the payment with while it requires action; cleared after.
    table.string('clientSecret')
    table.string('captureId')
    table.string('failureReason')
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('updatedAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.unique(['provider', 'paymentId'])
  })
  await knex.raw(
    'ALTER TABLE payments ADD CONSTRAINT payments_amounts_valid CHECK (captured BETWEEN 0 AND amount AND refunded BETWEEN 0 AND captured)'
  )
  await knex.schema.createTable('payment_webhook_events', (table) => {
    table.string('provider').notNullable()
    table.string('eventId').notNullable()
    table.string('type').notNullable()
    table.timestamp('receivedAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.primary(['provider', 'eventId'])
  })
  await knex.schema.alterTable('test_provider_outcomes', (table) => {
    table.renameColumn('authorizationId', 'paymentId')
  })
  // A real provider's app may confirm the payment with its own SDK: the checkout then names no payment method.
  await knex.schema.alterTable('checkouts', (table) => {
    table.string('paymentToken').nullable().alter()
  })
}

export async function down(knex: Knex) {
  await knex.schema.alterTable('checkouts', (table) => {
    table.string('paymentToken').notNullable().alter()
  })
  await knex.schema.alterTable('test_provider_outcomes', (table) => {
    table.renameColumn('paymentId', 'authorizationId')
  })
  await knex.schema.dropTable('payment_webhook_events')
  await knex.schema.dropTable('payments')
}
