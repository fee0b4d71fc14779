import type { Knex } from '@marketmesh/shared'

/**
 * The response of a request made with an Idempotency-Key, per buyer and key, kept for the key's
 * time to live: the same request again gets it back instead of running twice.
 */
export async function up(knex: Knex) {
  await knex.schema.createTable('idempotency_keys', (table) => {
    table.uuid('buyerId').notNullable()
    table.string('key', 255).notNullable()
    // SHA-256 of the request body: the same key with another body is refused.
    table.string('requestHash', 64).notNullable()
    table.integer('status').notNullable()
    table.jsonb('body').notNullable()
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('expiresAt', { useTz: true }).notNullable().index()
    table.primary(['buyerId', 'key'])
  })
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('idempotency_keys')
}
