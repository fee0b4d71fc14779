import type { Id, Paginated } from '@feathersjs/feathers'
import { KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import type { ReadCache, ServiceApplication } from '@marketmesh/shared'
import { CATEGORIES, queryKey } from '../../cache'
import type { Category, CategoryData, CategoryPatch, CategoryQuery } from './categories.schema'

export type { Category, CategoryData, CategoryPatch, CategoryQuery }

export type CategoryParams = KnexAdapterParams<CategoryQuery>

export interface CategoryServiceOptions extends KnexAdapterOptions {
  readCache?: ReadCache
  ttlSeconds: number
}

/** The tree is the same for every caller: outside reads come from the read cache, dropped by any category write. */
export class CategoryService<ServiceParams extends CategoryParams = CategoryParams> extends KnexService<
  Category,
  CategoryData,
  ServiceParams,
  CategoryPatch
> {
  declare options: CategoryServiceOptions

  private cacheable(params?: ServiceParams): params is ServiceParams {
    return Boolean(this.options.readCache && params?.provider && !params.transaction && !params.knex && params.paginate === undefined)
  }

  override async _find(params?: ServiceParams & { paginate?: false }): Promise<Category[]>
  override async _find(params?: ServiceParams): Promise<Paginated<Category>>
  override async _find(params?: ServiceParams): Promise<Paginated<Category> | Category[]>
  override async _find(params?: ServiceParams): Promise<Paginated<Category> | Category[]> {
    if (!this.cacheable(params)) return super._find(params)
    return this.options.readCache!.cached(`categories:${queryKey(params.query)}`, this.entry(), () => super._find(params))
  }

  override async _get(id: Id, params?: ServiceParams): Promise<Category> {
    if (!this.cacheable(params)) return super._get(id, params)
    return this.options.readCache!.cached(`category:${id}:${queryKey(params.query)}`, this.entry(), () => super._get(id, params))
  }

  private entry() {
    return { kind: 'categories', ttlSeconds: this.options.ttlSeconds, tags: [CATEGORIES] }
  }
}

export const getOptions = (app: ServiceApplication): CategoryServiceOptions => ({
  paginate: app.get('paginate'),
  Model: app.get('postgresqlClient'),
  name: 'categories',
  readCache: app.get('readCache'),
  ttlSeconds: app.get('cacheTtlSeconds').categories
})
