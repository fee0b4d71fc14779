import type { Knex } from '@marketmesh/shared'

/**
 * What notify-service keeps of users, fed by `user.*`: where to send mail, and who is disabled
 * (their streams close). `version` is user-service's: an older event never overwrites a newer one.
 */
export async function up(knex: Knex) {
  await knex.schema.createTable('users', (table) => {
    table.uuid('id').primary()
    table.string('email').notNullable()
    table.string('name').notNullable()
    table.string('role').notNullable()
    table.string('status').notNullable()
    table.integer('version').notNullable()
  })
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('users')
}
