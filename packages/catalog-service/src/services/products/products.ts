import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, emitEvent, inTransaction, optionallyAuthenticated, requireRole, type ServiceApplication } from '@marketmesh/shared'
import { getOptions, ProductService } from './products.class'
import {
  productDataValidator,
  productPatchResolver,
  productPatchValidator,
  productQueryValidator
} from './products.schema'
import { productMethods, productPath } from './products.shared'
import {
  assignShop,
  bumpVersion,
  inheritFromParent,
  limitAttributesSize,
  listOnlyVisible,
  productDeletedEvent,
  productEvent,
  propagateToVariants,
  removeVariants,
  requireKnownCategory,
  requireOwnProduct
} from './hooks'

export * from './products.class'
export * from './products.schema'

const writers = [authenticated(), requireRole('seller', 'admin')]

export const product = (app: ServiceApplication) => {
  app.use(productPath, new ProductService(getOptions(app)), { methods: [...productMethods], events: [] })
  app.service(productPath).hooks({
    around: {
      create: [inTransaction()],
      patch: [inTransaction()],
      remove: [inTransaction()]
    },
    before: {
      find: [optionallyAuthenticated(), schemaHooks.validateQuery(productQueryValidator), listOnlyVisible()],
      // No query schema on get, the hottest path: a get takes no query, and the adapter's own filter applies.
      get: [optionallyAuthenticated(), listOnlyVisible()],
      create: [
        ...writers,
        schemaHooks.validateData(productDataValidator),
        assignShop(),
        inheritFromParent(),
        limitAttributesSize(),
        requireKnownCategory()
      ],
      patch: [
        ...writers,
        schemaHooks.validateData(productPatchValidator),
        limitAttributesSize(),
        requireOwnProduct(),
        requireKnownCategory(),
        schemaHooks.resolveData(productPatchResolver)
      ],
      remove: [...writers, requireOwnProduct()]
    },
    after: {
      create: [emitEvent('product.created', productEvent)],
      patch: [bumpVersion(), emitEvent('product.updated', productEvent), propagateToVariants()],
      remove: [bumpVersion(), emitEvent('product.deleted', productDeletedEvent), removeVariants()]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [productPath]: ProductService
  }
}
