import type { Params } from '@feathersjs/feathers'
import { KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import type { ServiceApplication } from '@marketmesh/shared'
import type { Category, CategoryData, CategoryPatch, CategoryQuery } from './categories.schema'

export type { Category, CategoryData, CategoryPatch, CategoryQuery }

export type CategoryParams = KnexAdapterParams<CategoryQuery>

export class CategoryService<ServiceParams extends Params = CategoryParams> extends KnexService<
  Category,
  CategoryData,
  ServiceParams,
  CategoryPatch
> {}

export const getOptions = (app: ServiceApplication): KnexAdapterOptions => ({
  paginate: app.get('paginate'),
  Model: app.get('postgresqlClient'),
  name: 'categories'
})
