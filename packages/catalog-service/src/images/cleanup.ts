import type { SideEffects } from '@marketmesh/events'
import type { Knex } from '@marketmesh/shared'
import type { MediaStorage } from '../media/storage'
import { uploadKeyOf } from '../media/storage'
import { storedKeysOf, type ImageRow } from './image'

/** The side effect that deletes an image's files once its row is gone. */
export const REMOVE_IMAGE_FILES = 'remove-image-files'

/**
 * The durable timer of every upload asked for, due once its URL has expired and the grace after
 * it has passed (an upload begun just before the expiry may still be arriving until then).
 */
export const EXPIRE_UPLOAD = 'expire-upload'

/**
 * Deletes these image rows in `trx` and schedules the removal of everything stored for them
 * (the upload and every variant) after commit: both happen or neither, and a crash before the
 * files are gone runs the removal again.
 */
export const discardImages = async (trx: Knex.Transaction, effects: SideEffects, rows: Array<Pick<ImageRow, 'id' | 'uploadKey' | 'files'>>) => {
  if (rows.length === 0) return
  const ids = rows.map((row) => row.id)
  await trx('product_images').whereIn('id', ids).delete()
  for (const row of rows) await effects.schedule(trx, REMOVE_IMAGE_FILES, row.id, { keys: storedKeysOf(row) })
}

/** The images of these products, deleted with the products (variants included) in `trx`, their files after commit. */
export const discardImagesOfProducts = async (trx: Knex.Transaction, effects: SideEffects, productIds: string[]) => {
  const rows: ImageRow[] = await trx('product_images').whereIn('productId', productIds).forUpdate()
  await discardImages(trx, effects, rows)
}

/**
 * An upload's timer: an image still `pending` past its URL's expiry was never completed, and goes
 * with whatever bytes arrived. The upload's key is also cleared when the row is already gone (the
 * image or its product was deleted while its URL was open: a PUT to the bucket may have landed
 * after that deletion). An image completed in time is left alone. Idempotent: a rerun after a
 * crash finds the row gone and clears the key again.
 */
export const expireUpload = async (imageId: string, { db, storage }: { db: Knex; storage: MediaStorage }) => {
  const expired = await db('product_images').where({ id: imageId, status: 'pending' }).where('expiresAt', '<=', db.fn.now()).delete().returning('id')
  const kept = expired.length === 0 && (await db('product_images').where({ id: imageId }).first('status'))
  if (kept?.status === 'pending') throw new Error(`The upload URL of image ${imageId} has not expired yet`)
  if (!kept) await storage.remove([uploadKeyOf(imageId)])
}
