import { hooks as schemaHooks } from '@feathersjs/schema'
import {
  authenticated,
  inTransaction,
  noQueryValidator,
  optionallyAuthenticated,
  rateLimitedHttp,
  requireRole,
  type ServiceApplication
} from '@marketmesh/shared'
import { EXPIRE_UPLOAD, expireUpload, REMOVE_IMAGE_FILES } from '../../images/cleanup'
import { giveUpProcessing, processUpload, PROCESS_IMAGE } from '../../images/process'
import { announceImages, limitUploadRequests, loadImageProduct } from './hooks'
import { ImageCompletionService, ProductImageService } from './product-images.class'
import { imageCompletionDataValidator, productImageDataValidator, productImagePatchValidator } from './product-images.schema'
import { imageCompletionMethods, imageCompletionPath, productImageMethods, productImagePath } from './product-images.shared'

export * from './product-images.class'
export * from './product-images.schema'

const noQuery = schemaHooks.validateQuery(noQueryValidator)
// Around, ahead of the transaction: a caller who may not write is refused before a connection is taken.
const writers = [authenticated(), requireRole('seller', 'admin')]

/** The images of a product, their upload's completion, and the side effects that check them, expire uploads never completed and delete their files. */
export const productImages = (app: ServiceApplication) => {
  app.use(productImagePath, new ProductImageService(app), {
    methods: [...productImageMethods],
    events: [],
    koa: { before: [rateLimitedHttp()] }
  })
  app.service(productImagePath).hooks({
    around: {
      find: [optionallyAuthenticated()],
      get: [optionallyAuthenticated()],
      create: [...writers, limitUploadRequests, inTransaction()],
      patch: [...writers, inTransaction()],
      remove: [...writers, inTransaction()]
    },
    before: {
      find: [noQuery, loadImageProduct('read')],
      get: [noQuery, loadImageProduct('read')],
      create: [noQuery, schemaHooks.validateData(productImageDataValidator), loadImageProduct('write')],
      patch: [noQuery, schemaHooks.validateData(productImagePatchValidator), loadImageProduct('write')],
      remove: [noQuery, loadImageProduct('write')]
    }
  })

  app.use(imageCompletionPath, new ImageCompletionService(app), { methods: [...imageCompletionMethods], events: [] })
  app.service(imageCompletionPath).hooks({
    around: { create: [...writers, inTransaction()] },
    before: { create: [noQuery, schemaHooks.validateData(imageCompletionDataValidator), loadImageProduct('write')] }
  })

  const { maxBytes, maxSide, maxPixels } = app.get('media')
  const processing = () => ({
    db: app.get('postgresqlClient'),
    storage: app.get('mediaStorage'),
    scanner: app.get('malwareScanner'),
    limits: { maxBytes, maxSide, maxPixels },
    logger: app.get('logger'),
    announce: announceImages(app)
  })
  app
    .get('events')
    .effects.perform<{ imageId: string }>(PROCESS_IMAGE, ({ payload }) => processUpload(payload.imageId, processing()), {
      onGiveUp: ({ payload }, error) => giveUpProcessing(payload.imageId, processing(), error)
    })
    .perform<{ keys: string[] }>(REMOVE_IMAGE_FILES, ({ payload }) => app.get('mediaStorage').remove(payload.keys))
    .perform<{ imageId: string }>(EXPIRE_UPLOAD, ({ payload }) =>
      expireUpload(payload.imageId, { db: app.get('postgresqlClient'), storage: app.get('mediaStorage') })
    )
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [productImagePath]: ProductImageService
    [imageCompletionPath]: ImageCompletionService
  }
}
