import type { Migration } from '@marketmesh/shared'

/** Column names are the API's field names: the Feathers knex service maps them one to one. */
export const up: Migration['up'] = async (knex) => {
  await knex.schema.createTable('users', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'))
    table.text('email').notNullable()
    table.text('password').notNullable()
    table.text('name').notNullable()
    table.enu('role', ['buyer', 'seller', 'admin']).notNullable()
    table.enu('status', ['active', 'disabled']).notNullable().defaultTo('active')
    table.text('shopName')
    table.text('shopSlug').unique()
    table.text('shopDescription')
    table.timestamp('lastLoginAt', { useTz: true })
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('updatedAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
  })
  // The hooks store emails normalised; the index also holds for writes that bypass them.
  await knex.raw('CREATE UNIQUE INDEX users_email_unique ON users (lower(email))')
  await knex.raw(`ALTER TABLE users ADD CONSTRAINT users_seller_has_shop CHECK (role <> 'seller' OR "shopName" IS NOT NULL)`)
}

export const down: Migration['down'] = async (knex) => {
  await knex.schema.dropTable('users')
}
