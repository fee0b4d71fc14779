import type { Knex } from '@marketmesh/shared'

/**
 * Conversations between a buyer and a shop about an order or a product, and what they need:
 * - `users.shopName`: the shop's name as `user.*` last gave it (the users read model keeps the newest version);
 * - `conversation_orders`: each order's buyer and shop, from `order.*` (who may talk about it);
 * - `conversation_products`: each product's shop and title, from `product.*` (newest version; deleted ones stay, marked);
 * - `conversations`: one per buyer, shop and subject;
 * - `conversation_messages`: `position` orders them (and pages `?after=`), `notificationId` is the
 *   message's `event: message` in the log, rewritten when an admin hides it;
 * - `conversation_reads`: per conversation and party, how far they have read and been mailed;
 * - `user_presence`: per user and instance, whether a stream is open there and when that was last
 *   confirmed (a user streaming anywhere is not mailed).
 */
export async function up(knex: Knex) {
  await knex.schema.alterTable('users', (table) => {
    table.string('shopName')
  })
  await knex.schema.createTable('conversation_orders', (table) => {
    table.uuid('orderId').primary()
    table.uuid('buyerId').notNullable()
    table.uuid('sellerId').notNullable()
  })
  await knex.schema.createTable('conversation_products', (table) => {
    table.uuid('productId').primary()
    table.uuid('sellerId').notNullable()
    table.text('title')
    table.boolean('deleted').notNullable().defaultTo(false)
    table.integer('version').notNullable()
  })
  await knex.schema.createTable('conversations', (table) => {
    table.uuid('id').primary()
    table.uuid('buyerId').notNullable()
    table.uuid('sellerId').notNullable()
    table.string('subjectType').notNullable()
    table.uuid('subjectId').notNullable()
    table.text('title').notNullable()
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('updatedAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.unique(['buyerId', 'sellerId', 'subjectType', 'subjectId'])
    table.index(['buyerId', 'updatedAt'])
    table.index(['sellerId', 'updatedAt'])
    table.index(['subjectId'])
  })
  await knex.schema.createTable('conversation_messages', (table) => {
    table.uuid('id').primary()
    table.bigIncrements('position', { primaryKey: false }).unique()
    table.uuid('conversationId').notNullable().references('id').inTable('conversations')
    table.uuid('senderId').notNullable()
    table.string('senderRole').notNullable()
    table.text('body').notNullable()
    table.boolean('hidden').notNullable().defaultTo(false)
    table.text('hiddenReason')
    table.bigInteger('notificationId').notNullable()
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.index(['conversationId', 'position'])
    table.index(['senderId', 'createdAt'])
  })
  await knex.schema.createTable('conversation_reads', (table) => {
    table.uuid('conversationId').notNullable().references('id').inTable('conversations')
    table.uuid('userId').notNullable()
    table.bigInteger('readPosition').notNullable().defaultTo(0)
    table.bigInteger('mailedPosition').notNullable().defaultTo(0)
    table.timestamp('mailedAt', { useTz: true })
    table.primary(['conversationId', 'userId'])
  })
  await knex.schema.createTable('user_presence', (table) => {
    table.uuid('userId').notNullable()
    table.uuid('instance').notNullable()
    table.boolean('streaming').notNullable()
    table.timestamp('lastSeenAt', { useTz: true }).notNullable()
    table.primary(['userId', 'instance'])
    table.index(['lastSeenAt'])
  })
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('user_presence')
  await knex.schema.dropTable('conversation_reads')
  await knex.schema.dropTable('conversation_messages')
  await knex.schema.dropTable('conversations')
  await knex.schema.dropTable('conversation_products')
  await knex.schema.dropTable('conversation_orders')
  await knex.schema.alterTable('users', (table) => {
    table.dropColumn('shopName')
  })
}
