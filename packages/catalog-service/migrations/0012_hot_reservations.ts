import type { Knex } from '@marketmesh/shared'

const LISTED = `WHERE "deletedAt" IS NULL AND status = 'active' AND NOT "sellerDisabled"`

/**
 * Reservations as HOT updates. `products_listed` carried `stock` in its INCLUDE, so every
 * reservation and release changed an indexed column: a new entry in each of the table's six
 * indexes, two of them GIN. The index carries `inStock` now (stock > 0, generated), which changes
 * only when a product sells out or comes back, and each page keeps a tenth free for the row's next
 * version (the rewrite that adds the column already leaves it).
 */
export async function up(knex: Knex) {
  await knex.raw('ALTER TABLE products SET (fillfactor = 90)')
  await knex.raw('ALTER TABLE products ADD COLUMN "inStock" boolean GENERATED ALWAYS AS (stock > 0) STORED')
  await knex.raw('DROP INDEX products_listed')
  await knex.raw(`
    CREATE INDEX products_listed ON products ("categoryId")
      INCLUDE (id, "sellerId", price, "inStock", "createdAt", rating, "ratingCount", "attributeValueIds")
      ${LISTED}
  `)
}

export async function down(knex: Knex) {
  await knex.raw('DROP INDEX products_listed')
  await knex.raw(`
    CREATE INDEX products_listed ON products ("categoryId")
      INCLUDE (id, "sellerId", price, stock, "createdAt", rating, "ratingCount", "attributeValueIds")
      ${LISTED}
  `)
  await knex.raw('ALTER TABLE products DROP COLUMN "inStock"')
  await knex.raw('ALTER TABLE products RESET (fillfactor)')
}
