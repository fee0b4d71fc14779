import type { Knex } from '@marketmesh/shared'

/**
 * Webhook endpoints and their deliveries. A delivery is written in the transaction that records
 * what happened (the consumer's, a print job step's), and sent after commit by the sender, which
 * claims due rows with `FOR UPDATE SKIP LOCKED` (webhooks/sender.ts). Its id is the
 * `webhook-id` header, the same on every attempt. Each attempt is a row of `webhook_attempts`.
 */
export async function up(knex: Knex) {
  await knex.schema.createTable('webhook_endpoints', (table) => {
    table.uuid('id').primary()
    /** A seller's endpoint gets their shop's events; an admin's (null) the platform's. */
    table.uuid('sellerId')
    table.uuid('ownerId').notNullable()
    table.string('ownerRole').notNullable()
    table.text('url').notNullable()
    table.specificType('events', 'text[]').notNullable()
    table.text('description')
    table.string('status').notNullable().defaultTo('enabled')
    /** Why the service disabled it (a 410, five days failing); null when its owner did or it is enabled. */
    table.text('disabledReason')
    /** `whsec_…`: kept to sign with. After a rotation the previous one signs too, until `previousSecretExpiresAt`. */
    table.text('secret').notNullable()
    table.text('previousSecret')
    table.timestamp('previousSecretExpiresAt', { useTz: true })
    /** The first failed attempt since the last success: failing this long disables the endpoint. */
    table.timestamp('failingSince', { useTz: true })
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('updatedAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.index(['ownerId'])
    table.index(['sellerId'])
  })
  await knex.schema.createTable('webhook_deliveries', (table) => {
    table.uuid('id').primary()
    table.uuid('endpointId').notNullable().references('id').inTable('webhook_endpoints').onDelete('CASCADE')
    table.string('eventType').notNullable()
    /** The request body exactly as signed: the same bytes on every attempt. */
    table.text('body').notNullable()
    table.string('status').notNullable().defaultTo('pending')
    table.integer('attempts').notNullable().defaultTo(0)
    /** When it is due; a claim moves it past the attempt's lease, so a sender that died leaves it due again. */
    table.timestamp('runAfter', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('finishedAt', { useTz: true })
    table.index(['endpointId', 'createdAt'])
  })
  await knex.raw(`CREATE INDEX webhook_deliveries_due ON webhook_deliveries ("runAfter") WHERE status = 'pending'`)
  await knex.schema.createTable('webhook_attempts', (table) => {
    table.bigIncrements('id')
    table.uuid('deliveryId').notNullable().references('id').inTable('webhook_deliveries').onDelete('CASCADE')
    table.timestamp('at', { useTz: true }).notNullable()
    /** Null when no answer came (refused address, connection error, timeout): `error` says which. */
    table.integer('statusCode')
    table.integer('durationMs').notNullable()
    table.text('responseSnippet')
    table.text('error')
    table.index(['deliveryId'])
  })
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('webhook_attempts')
  await knex.schema.dropTable('webhook_deliveries')
  await knex.schema.dropTable('webhook_endpoints')
}
