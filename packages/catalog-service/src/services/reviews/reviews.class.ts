import type { Params } from '@feathersjs/feathers'
import { KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import type { ServiceApplication } from '@marketmesh/shared'
import type { Review, ReviewData, ReviewQuery } from './reviews.schema'

export type { Review, ReviewData, ReviewQuery }

export type ReviewParams = KnexAdapterParams<ReviewQuery>

export class ReviewService<ServiceParams extends Params = ReviewParams> extends KnexService<Review, ReviewData, ServiceParams> {}

export const getOptions = (app: ServiceApplication): KnexAdapterOptions => ({
  paginate: app.get('paginate'),
  Model: app.get('postgresqlClient'),
  name: 'reviews'
})
