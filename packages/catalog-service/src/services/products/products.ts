import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, emitEvent, inTransaction, optionallyAuthenticated, requireRole, uuidIds, type ServiceApplication } from '@marketmesh/shared'
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

// The query first, before a token is verified or a row read: bad input costs nothing but the answer.
const validQuery = schemaHooks.validateQuery(productQueryValidator)
const writers = [validQuery, authenticated(), requireRole('seller', 'admin')]

export const product = (app: ServiceApplication) => {
  app.use(productPath, new ProductService(getOptions(app)), { methods: [...productMethods], events: [] })
  app.service(productPath).hooks({
    around: {
      create: [inTransaction()],
      patch: [inTransaction()],
      remove: [inTransaction()]
    },
    before: {
      find: [validQuery, optionallyAuthenticated(), listOnlyVisible()],
      // The hottest path checks its id and query in the class, with the same schema compiled to a synchronous check.
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
        uuidIds(),
        ...writers,
        schemaHooks.validateData(productPatchValidator),
        limitAttributesSize(),
        requireOwnProduct(),
        requireKnownCategory(),
        schemaHooks.resolveData(productPatchResolver)
      ],
      remove: [uuidIds(), ...writers, requireOwnProduct()]
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
