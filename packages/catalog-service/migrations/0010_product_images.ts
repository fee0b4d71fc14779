import { rateLimitsTable, type Migration } from '@marketmesh/shared'

/**
 * Product images: one row per image from the moment its upload is asked for (`pending`) through
 * its checks (`processing`) to `ready` or `rejected`. `uploadKey` is where the unchecked bytes
 * land; `files` names what was made of them (each variant's storage key and size). And the kit's
 * rate-limit counters, for the upload requests per seller.
 */
export const up: Migration['up'] = async (knex) => {
  await knex.raw(`
    CREATE TABLE product_images (
      id uuid PRIMARY KEY,
      "productId" uuid NOT NULL REFERENCES products (id),
      "sellerId" uuid NOT NULL,
      status text NOT NULL CHECK (status IN ('pending', 'processing', 'ready', 'rejected')),
      "contentType" text NOT NULL,
      size integer NOT NULL CHECK (size > 0),
      alt text NOT NULL DEFAULT '',
      position integer NOT NULL,
      width integer,
      height integer,
      "rejectionReason" text,
      "uploadKey" text NOT NULL,
      files jsonb,
      "expiresAt" timestamptz NOT NULL,
      "createdAt" timestamptz NOT NULL DEFAULT now(),
      "updatedAt" timestamptz NOT NULL DEFAULT now()
    )
  `)
  await knex.raw('CREATE INDEX product_images_product ON product_images ("productId", position)')
  await rateLimitsTable.up(knex)
}

export const down: Migration['down'] = async (knex) => {
  await rateLimitsTable.down(knex)
  await knex.raw('DROP TABLE product_images')
}
