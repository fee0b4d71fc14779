import type { Knex } from '@marketmesh/shared'

const average = (sum: string) => `CASE WHEN "ratingCount" = 0 THEN NULL ELSE round(${sum}::numeric / "ratingCount", 2)::float8 END`

export async function up(knex: Knex) {
  // Every scalar attribute value any product has, once: search filters and counts facets on these
  // small integer ids instead of on JSONB, which is several times slower to hash and compare.
  await knex.schema.createTable('attribute_values', (table) => {
    table.increments('id')
    table.text('key').notNullable()
    table.jsonb('value').notNullable()
    table.unique(['key', 'value'])
  })
  await knex.schema.createTable('products', (table) => {
    table.uuid('id').primary().defaultTo(knex.raw('gen_random_uuid()'))
    table.uuid('sellerId').notNullable()
    table.uuid('parentId').references('id').inTable('products').onDelete('RESTRICT')
    table.text('title').notNullable()
    table.text('description').notNullable().defaultTo('')
    table.integer('price').notNullable()
    table.specificType('currency', 'char(3)').notNullable()
    table.integer('stock').notNullable()
    table.uuid('categoryId').references('id').inTable('categories').onDelete('RESTRICT')
    table.jsonb('attributes').notNullable().defaultTo('{}')
    // Kept by the trigger below: the ids of the product's scalar attribute values.
    table.specificType('attributeValueIds', 'integer[]').notNullable().defaultTo('{}')
    table.text('status').notNullable().defaultTo('active')
    // The seller's account is disabled (from the sellers read model): kept here so that listing
    // a product needs no join, and the listing index leaves such products out.
    table.boolean('sellerDisabled').notNullable().defaultTo(false)
    table.integer('ratingCount').notNullable().defaultTo(0)
    table.integer('ratingQualitySum').notNullable().defaultTo(0)
    table.integer('ratingValueSum').notNullable().defaultTo(0)
    table.integer('ratingDeliverySum').notNullable().defaultTo(0)
    table.timestamp('deletedAt', { useTz: true })
    table.timestamp('createdAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
    table.timestamp('updatedAt', { useTz: true }).notNullable().defaultTo(knex.fn.now())
  })
  // The last line of defence behind the schemas: concurrent reservations can never take stock below zero.
  await knex.raw(`
    ALTER TABLE products
      ADD CONSTRAINT products_price_check CHECK (price >= 0),
      ADD CONSTRAINT products_stock_check CHECK (stock >= 0),
      ADD CONSTRAINT products_status_check CHECK (status IN ('active', 'archived')),
      ADD COLUMN "ratingQuality" float8 GENERATED ALWAYS AS (${average('"ratingQualitySum"')}) STORED,
      ADD COLUMN "ratingValue" float8 GENERATED ALWAYS AS (${average('"ratingValueSum"')}) STORED,
      ADD COLUMN "ratingDelivery" float8 GENERATED ALWAYS AS (${average('"ratingDeliverySum"')}) STORED,
      ADD COLUMN rating float8 GENERATED ALWAYS AS (
        ${average('("ratingQualitySum" + "ratingValueSum" + "ratingDeliverySum") / 3.0')}
      ) STORED,
      ADD COLUMN "searchVector" tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', description), 'B')
      ) STORED
  `)
  // A trigger, not a hook: attributes also change in bulk SQL (a parent's change reaching its variants).
  await knex.raw(`
    CREATE FUNCTION products_attribute_value_ids() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO attribute_values (key, value)
        SELECT a.key, a.value FROM jsonb_each(NEW.attributes) a
        WHERE jsonb_typeof(a.value) IN ('string', 'number', 'boolean')
          AND NOT EXISTS (SELECT 1 FROM attribute_values v WHERE v.key = a.key AND v.value = a.value)
        ON CONFLICT DO NOTHING;
      NEW."attributeValueIds" := ARRAY(
        SELECT v.id FROM jsonb_each(NEW.attributes) a JOIN attribute_values v ON v.key = a.key AND v.value = a.value
        ORDER BY v.id);
      RETURN NEW;
    END $$
  `)
  await knex.raw(`
    CREATE TRIGGER products_attribute_value_ids BEFORE INSERT OR UPDATE OF attributes ON products
      FOR EACH ROW EXECUTE FUNCTION products_attribute_value_ids()
  `)
  // Locking the seller's row orders a new product against a concurrent change of the seller's status.
  await knex.raw(`
    CREATE FUNCTION products_seller_disabled() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW."sellerDisabled" := coalesce(
        (SELECT status = 'disabled' FROM sellers WHERE id = NEW."sellerId" FOR SHARE), false);
      RETURN NEW;
    END $$
  `)
  await knex.raw(`
    CREATE TRIGGER products_seller_disabled BEFORE INSERT ON products
      FOR EACH ROW EXECUTE FUNCTION products_seller_disabled()
  `)
  await knex.raw('CREATE INDEX products_search ON products USING GIN ("searchVector")')
  await knex.raw('CREATE INDEX products_attribute_values ON products USING GIN ("attributeValueIds")')
  await knex.raw('CREATE INDEX products_seller ON products ("sellerId")')
  await knex.raw('CREATE INDEX products_parent ON products ("parentId") WHERE "parentId" IS NOT NULL')
  // Browsing a category and counting its facets reads only this index (an index-only scan), not the wide rows.
  await knex.raw(`
    CREATE INDEX products_listed ON products ("categoryId")
      INCLUDE (id, "sellerId", price, stock, "createdAt", rating, "ratingCount", "attributeValueIds")
      WHERE "deletedAt" IS NULL AND status = 'active' AND NOT "sellerDisabled"
  `)
}

export async function down(knex: Knex) {
  await knex.schema.dropTable('products')
  await knex.raw('DROP FUNCTION products_attribute_value_ids()')
  await knex.raw('DROP FUNCTION products_seller_disabled()')
  await knex.schema.dropTable('attribute_values')
}
