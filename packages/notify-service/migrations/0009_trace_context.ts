import type { Knex } from '@marketmesh/shared'

/**
 * The W3C trace context of the span that wrote a notification or a webhook delivery (null when not
 * tracing): its delivery over the streams, and its sending to the endpoint, continue that trace.
 */
export async function up(knex: Knex) {
  await knex.schema.alterTable('notifications', (table) => table.text('traceparent'))
  await knex.schema.alterTable('webhook_deliveries', (table) => table.text('traceparent'))
}

export async function down(knex: Knex) {
  await knex.schema.alterTable('webhook_deliveries', (table) => table.dropColumn('traceparent'))
  await knex.schema.alterTable('notifications', (table) => table.dropColumn('traceparent'))
}
