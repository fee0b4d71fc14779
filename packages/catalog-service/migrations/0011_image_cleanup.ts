import type { Migration } from '@marketmesh/shared'

/**
 * Image cleanup for what came before it: every upload still `pending` gets its expiry timer (the
 * `expire-upload` side effect, due 5 minutes after its URL expired, the default grace), and the
 * images of products already deleted go, their files by `remove-image-files` side effects.
 */
export const up: Migration['up'] = async (knex) => {
  await knex.raw(`
    INSERT INTO side_effects (id, kind, key, payload, run_after)
    SELECT gen_random_uuid(), 'expire-upload', i.id::text, jsonb_build_object('imageId', i.id), i."expiresAt" + interval '5 minutes'
      FROM product_images i
     WHERE i.status = 'pending'
    ON CONFLICT (kind, key) DO NOTHING
  `)
  await knex.raw(`
    WITH discarded AS (
      DELETE FROM product_images i USING products p
       WHERE p.id = i."productId" AND p."deletedAt" IS NOT NULL
      RETURNING i.id, i."uploadKey", i.files
    )
    INSERT INTO side_effects (id, kind, key, payload)
    SELECT gen_random_uuid(), 'remove-image-files', d.id::text,
           jsonb_build_object('keys', jsonb_build_array(d."uploadKey") || coalesce((SELECT jsonb_agg(f -> 'key') FROM jsonb_array_elements(d.files) f), '[]'::jsonb))
      FROM discarded d
    ON CONFLICT (kind, key) DO NOTHING
  `)
}

// Nothing to undo: the timers and removals are the ones the service schedules itself from now on.
export const down: Migration['down'] = async () => {}
