import type { Knex } from '@marketmesh/shared'

/** A checkout is one buyer's cart; it splits into one order per seller, each with its lines and timeline. */
export async function up(knex: Knex) {
  await knex.schema.createTable('checkouts', (table) => {
    table.uuid('id').primary()
    table.uuid('buyerId').notNullable().index()
    table.jsonb('shippingAddress').notNullable()
    table.string('paymentProvider').notNullable()
    // A provider's payment token (never card data): charged when the catalog has reserved the stock.
    table.string('paymentToken').notNullable()
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
  })
  await knex.schema.createTable('orders', (table) => {
    table.uuid('id').primary()
    table.uuid('checkoutId').notNullable().references('id').inTable('checkouts').index()
    table.uuid('buyerId').notNullable()
    table.uuid('sellerId').notNullable()
    table.string('status').notNullable()
    table.string('reason')
    table.integer('total').notNullable()
    table.string('currency', 3).notNullable()
    table.string('buyerName').notNullable()
    table.string('shopName')
    table.string('trackingNumber')
    table.string('paymentId')
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('updatedAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.index(['buyerId', 'createdAt'])
    table.index(['sellerId', 'createdAt'])
    table.index(['status', 'createdAt'])
  })
  await knex.raw(`ALTER TABLE orders ADD CONSTRAINT orders_total_not_negative CHECK (total >= 0)`)
  await knex.schema.createTable('order_lines', (table) => {
    table.uuid('orderId').notNullable().references('id').inTable('orders')
    table.uuid('productId').notNullable()
    table.string('title').notNullable()
    table.integer('quantity').notNullable()
    table.integer('unitPrice').notNullable()
    table.primary(['orderId', 'productId'])
  })
  await knex.raw(`ALTER TABLE order_lines ADD CONSTRAINT order_lines_valid CHECK (quantity BETWEEN 1 AND 999 AND "unitPrice" >= 0)`)
  await knex.schema.createTable('order_timeline', (table) => {
    table.bigIncrements('id')
    table.uuid('orderId').notNullable().references('id').inTable('orders').index()
    table.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.string('from')
    table.string('to').notNullable()
    // A user id, or `system` for the saga and the timers.
    table.string('by').notNullable()
    table.string('reason')
  })
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('order_timeline')
  await knex.schema.dropTable('order_lines')
  await knex.schema.dropTable('orders')
  await knex.schema.dropTable('checkouts')
}
