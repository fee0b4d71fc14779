import type { Knex, Logger } from '@marketmesh/shared'
import type { MalwareScanner } from '../media/scanner'
import type { MediaStorage } from '../media/storage'
import { inspectUpload, type ImageLimits, type ImageType } from './checks'
import type { ImageRow } from './image'
import { makeVariants } from './variants'

/** The side effect that checks an upload once its seller says it is complete. */
export const PROCESS_IMAGE = 'process-image'

export interface ImageProcessing {
  db: Knex
  storage: MediaStorage
  scanner?: MalwareScanner
  limits: ImageLimits
  logger: Logger
  /** Called in the transaction that makes an image ready: the product's change goes out with it. */
  announce: (trx: Knex.Transaction, productId: string) => Promise<void>
}

type Outcome =
  { status: 'ready'; width: number; height: number; files: Awaited<ReturnType<typeof makeVariants>> } | { status: 'rejected'; reason: string }

const check = async (row: ImageRow, bytes: Buffer | undefined, { scanner, limits }: ImageProcessing): Promise<Outcome> => {
  if (!bytes) return { status: 'rejected', reason: 'Nothing was uploaded' }
  const inspection = await inspectUpload(bytes, row, limits)
  if (!inspection.accepted) return { status: 'rejected', reason: inspection.reason }
  // A scanner that fails throws: the effect is tried again later, never passed unscanned.
  const scan = await scanner?.scan(bytes)
  if (scan && !scan.clean) return { status: 'rejected', reason: `Malware found: ${scan.signature}` }
  let files
  try {
    files = await makeVariants(row.id, bytes, row.contentType as ImageType, limits)
  } catch {
    return { status: 'rejected', reason: 'The image cannot be decoded' }
  }
  const original = files.find((file) => file.variant === 'original')!
  return { status: 'ready', width: original.width, height: original.height, files }
}

/**
 * Checks an upload and settles its image: `ready` with its variants stored, or `rejected` with
 * the reason and its bytes deleted. Run as a side effect after `complete`, so a crash anywhere
 * runs it again: files are written under content-addressed names (the same again on a rerun) before
 * the row changes, and an image that is no longer `processing` (settled, or deleted meanwhile) is
 * left alone and what this run wrote is removed.
 */
export const processUpload = async (imageId: string, processing: ImageProcessing) => {
  const { db, storage, logger, announce } = processing
  const row: ImageRow | undefined = await db('product_images').where({ id: imageId }).first()
  if (!row || row.status !== 'processing') return
  const outcome = await check(row, await storage.read(row.uploadKey), processing)
  if (outcome.status === 'ready') await Promise.all(outcome.files.map((file) => storage.write(file.key, file.data, file.contentType)))
  const settled = await db.transaction(async (trx) => {
    const current = await trx('product_images').where({ id: imageId }).forUpdate().first('status')
    if (current?.status !== 'processing') return current ? 'elsewhere' : 'deleted'
    await trx('product_images')
      .where({ id: imageId })
      .update(
        outcome.status === 'ready'
          ? {
              status: 'ready',
              width: outcome.width,
              height: outcome.height,
              files: JSON.stringify(outcome.files.map(({ data: _data, ...file }) => file)),
              updatedAt: trx.fn.now()
            }
          : { status: 'rejected', rejectionReason: outcome.reason, updatedAt: trx.fn.now() }
      )
    if (outcome.status === 'ready') await announce(trx, row.productId)
    return 'here'
  })
  // Settled by another run, the files are the same ones (content-addressed): they stay.
  if (settled === 'elsewhere') return
  if (settled === 'deleted') {
    if (outcome.status === 'ready') await storage.remove(outcome.files.map((file) => file.key))
    return
  }
  await storage.remove([row.uploadKey])
  logger.info(
    { imageId, productId: row.productId, status: outcome.status, ...(outcome.status === 'rejected' && { reason: outcome.reason }) },
    'image settled'
  )
}

/**
 * When the checks failed on every attempt (clamd or the store unreachable all along): the image
 * is rejected as not checked, never left `processing` nor passed unscanned, and its bytes go.
 */
export const giveUpProcessing = async (imageId: string, { db, storage }: Pick<ImageProcessing, 'db' | 'storage'>, error: Error) => {
  const [row] = await db('product_images')
    .where({ id: imageId, status: 'processing' })
    .update({ status: 'rejected', rejectionReason: `The upload could not be checked: ${error.message}`, updatedAt: db.fn.now() })
    .returning('uploadKey')
  if (row) await storage.remove([row.uploadKey])
}
