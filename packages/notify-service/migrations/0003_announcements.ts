import type { Knex } from '@marketmesh/shared'

/**
 * Announcements by admins. Each is also a notification in the log (`notificationId`), which
 * carries it to every open stream; this table answers "which are current" for streams opened
 * later and for `GET /announcements`, also after the log row is purged.
 */
export async function up(knex: Knex) {
  await knex.schema.createTable('announcements', (table) => {
    table.uuid('id').primary()
    table.bigInteger('notificationId').notNullable()
    table.text('message').notNullable()
    table.string('level').notNullable()
    table.timestamp('endsAt', { useTz: true })
    table.uuid('createdBy').notNullable()
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.index(['endsAt'])
  })
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('announcements')
}
