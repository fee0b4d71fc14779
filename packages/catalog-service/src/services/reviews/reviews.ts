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
import { getOptions, ReviewService, type Review } from './reviews.class'
import { reviewDataResolver, reviewDataValidator, reviewExternalResolver, reviewQueryValidator } from './reviews.schema'
import { reviewMethods, reviewPath } from './reviews.shared'
import { purchaseFiltersOnlyForTheirBuyer, requireDeliveredPurchase, updateProductRating } from './hooks'

export * from './reviews.class'
export * from './reviews.schema'

export const review = (app: ServiceApplication) => {
  app.use(reviewPath, new ReviewService(getOptions(app)), { methods: [...reviewMethods], events: [] })
  app.service(reviewPath).hooks({
    around: {
      all: [schemaHooks.resolveExternal(reviewExternalResolver)],
      // Anyone reads reviews; a token tells whose buyer and order may be shown.
      find: [optionallyAuthenticated()],
      get: [optionallyAuthenticated()],
      create: [authenticated(), requireRole('buyer'), inTransaction()]
    },
    before: {
      all: [uuidIds(), schemaHooks.validateQuery(reviewQueryValidator)],
      find: [purchaseFiltersOnlyForTheirBuyer(), stableOrder()],
      get: [purchaseFiltersOnlyForTheirBuyer()],
      create: [schemaHooks.validateData(reviewDataValidator), schemaHooks.resolveData(reviewDataResolver), requireDeliveredPurchase()]
    },
    after: {
      create: [
        updateProductRating(),
        emitEvent('review.created', (result: Review) => ({
          reviewId: result.id,
          productId: result.productId,
          orderId: result.orderId,
          buyerId: result.buyerId,
          ratings: result.ratings
        }))
      ]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [reviewPath]: ReviewService
  }
}
