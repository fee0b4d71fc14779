import type { Knex } from '@marketmesh/shared'

// The product's own fields and its stock: what a seller reads before writing an absolute value.
const tracked = ['title', 'description', 'price', 'currency', 'stock', '"categoryId"', 'attributes', 'status', '"parentId"', '"deletedAt"']

/**
 * A product's revision, for optimistic concurrency: a PATCH naming the `version` it read applies only
 * if nothing changed since. A trigger, not a hook, counts the changes: stock also moves in the order
 * saga's SQL (a reservation, its release) and shared fields reach variants from their parent in bulk.
 * Ratings and the seller's status are not the product's own and leave it alone.
 */
export async function up(knex: Knex) {
  await knex.raw('ALTER TABLE products ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1)')
  await knex.raw(`
    CREATE FUNCTION products_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.version := OLD.version + 1;
      RETURN NEW;
    END $$
  `)
  await knex.raw(`
    CREATE TRIGGER products_version BEFORE UPDATE ON products FOR EACH ROW
      WHEN ((${tracked.map((column) => `OLD.${column}`).join(', ')}) IS DISTINCT FROM (${tracked.map((column) => `NEW.${column}`).join(', ')}))
      EXECUTE FUNCTION products_version()
  `)
}

export async function down(knex: Knex) {
  await knex.raw('DROP TRIGGER products_version ON products')
  await knex.raw('DROP FUNCTION products_version()')
  await knex.raw('ALTER TABLE products DROP COLUMN version')
}
