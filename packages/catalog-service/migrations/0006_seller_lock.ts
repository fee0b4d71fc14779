import type { Knex } from '@marketmesh/shared'

// The value of SELLER_LOCK in src/events/seller-lock.ts when this was written; a migration stays frozen.
const SELLER_LOCK = 0x73656c6c

/**
 * A product insert takes the seller's advisory lock (shared) before it reads the disabled flag.
 * Before, a product created while the seller's first user.* event was being applied missed that
 * event's flag: no sellers row to lock yet, and the handler's update did not see the new product.
 */
export async function up(knex: Knex) {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION products_seller_disabled() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_advisory_xact_lock_shared(${SELLER_LOCK}, hashtext(NEW."sellerId"::text));
      NEW."sellerDisabled" := coalesce((SELECT status = 'disabled' FROM sellers WHERE id = NEW."sellerId"), false);
      RETURN NEW;
    END $$
  `)
}

export async function down(knex: Knex) {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION products_seller_disabled() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW."sellerDisabled" := coalesce(
        (SELECT status = 'disabled' FROM sellers WHERE id = NEW."sellerId" FOR SHARE), false);
      RETURN NEW;
    END $$
  `)
}
