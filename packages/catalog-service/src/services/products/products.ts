import { hooks as schemaHooks } from '@feathersjs/schema'
import {
  authenticated,
  emitEvent,
  inTransaction,
  optionallyAuthenticated,
  requireRole,
  stableOrder,
  uuidIds,
  type ServiceApplication
} from '@marketmesh/shared'
import { getOptions, ProductService } from './products.class'
import { productDataValidator, productPatchResolver, productPatchValidator, productQueryValidator } from './products.schema'
import { productMethods, productPath } from './products.shared'
import {
  adjustStock,
  assignShop,
  attachImages,
  bumpVersion,
  inheritFromParent,
  limitAttributesSize,
  listOnlyVisible,
  productDeletedEvent,
  productEvent,
  propagateToVariants,
  removeImages,
  removeVariants,
  requireCurrentVersion,
  requireKnownCategory,
  requireOwnProduct
} from './hooks'

export * from './products.class'
export * from './products.schema'

// The query first, before the data or a row is read: bad input costs nothing but the answer.
const validQuery = schemaHooks.validateQuery(productQueryValidator)
// Around, ahead of the transaction: a caller who may not write is refused before a connection is taken.
const writers = [authenticated(), requireRole('seller', 'admin')]

export const product = (app: ServiceApplication) => {
  app.use(productPath, new ProductService(getOptions(app)), { methods: [...productMethods], events: [] })
  app.service(productPath).hooks({
    around: {
      create: [...writers, inTransaction()],
      patch: [...writers, inTransaction()],
      remove: [...writers, inTransaction()]
    },
    before: {
      find: [validQuery, optionallyAuthenticated(), listOnlyVisible(), stableOrder()],
      // The hottest path checks its id and query in the class, with the same schema compiled to a synchronous check.
      get: [optionallyAuthenticated(), listOnlyVisible()],
      create: [
        validQuery,
        schemaHooks.validateData(productDataValidator),
        assignShop(),
        inheritFromParent(),
        limitAttributesSize(),
        requireKnownCategory()
      ],
      patch: [
        uuidIds(),
        validQuery,
        schemaHooks.validateData(productPatchValidator),
        limitAttributesSize(),
        listOnlyVisible(),
        requireOwnProduct(),
        requireCurrentVersion(),
        adjustStock(),
        requireKnownCategory(),
        schemaHooks.resolveData(productPatchResolver)
      ],
      remove: [uuidIds(), validQuery, listOnlyVisible(), requireOwnProduct()]
    },
    after: {
      find: [attachImages()],
      get: [attachImages()],
      create: [attachImages(), emitEvent('product.created', productEvent)],
      patch: [bumpVersion(), attachImages(), emitEvent('product.updated', productEvent), propagateToVariants()],
      remove: [bumpVersion(), emitEvent('product.deleted', productDeletedEvent), removeVariants(), removeImages()]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [productPath]: ProductService
  }
}
