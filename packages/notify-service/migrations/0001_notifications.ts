import type { Knex } from '@marketmesh/shared'

/**
 * The notification log: one row per notification, whoever may see it (`userId` a buyer or the
 * user an account event is about, `sellerId` a shop, `everyone`, `devices` a shop's appliances;
 * admins see all). `id` is assigned in commit order (log/append.ts), so a reader that has seen
 * id N never misses a smaller one later. `notification_horizon` is the largest id purged: a
 * client resuming from before it has lost something and is told to resync.
 */
export async function up(knex: Knex) {
  await knex.schema.createTable('notifications', (table) => {
    table.bigIncrements('id').primary()
    table.string('type').notNullable()
    table.jsonb('data').notNullable()
    table.uuid('userId')
    table.uuid('sellerId')
    table.boolean('everyone').notNullable().defaultTo(false)
    table.boolean('devices').notNullable().defaultTo(false)
    // The consumed event it came from (none for announcements).
    table.uuid('eventId')
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.index(['userId', 'id'])
    table.index(['sellerId', 'id'])
    table.index(['createdAt'])
  })
  await knex.raw('CREATE INDEX notifications_everyone ON notifications (id) WHERE everyone')
  await knex.schema.createTable('notification_horizon', (table) => {
    table.boolean('single').primary().defaultTo(true)
    table.bigInteger('purgedThrough').notNullable()
  })
  await knex.raw('ALTER TABLE notification_horizon ADD CONSTRAINT notification_horizon_single CHECK (single)')
  await knex('notification_horizon').insert({ single: true, purgedThrough: 0 })
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('notification_horizon')
  await knex.schema.dropTable('notifications')
}
