import { Type, type Static } from '@feathersjs/typebox'
import { baseEnvironment, readCacheEnvironment, readCacheSettingsProperties, serviceSettingsSchema } from '@marketmesh/shared'

export const settingsSchema = serviceSettingsSchema({
  /** Page sizes of the lists (`$limit`): the default and the most a caller may ask for. */
  paginate: Type.Object({
    default: Type.Integer({ minimum: 1 }),
    max: Type.Integer({ minimum: 1 })
  }),
  ...readCacheSettingsProperties,
  /** Seconds the read cache keeps each kind of entry (writes drop them sooner). */
  cacheTtlSeconds: Type.Object({
    product: Type.Integer({ minimum: 1 }),
    list: Type.Integer({ minimum: 1 }),
    search: Type.Integer({ minimum: 1 }),
    categories: Type.Integer({ minimum: 1 })
  })
})

export const environment: typeof baseEnvironment = {
  ...baseEnvironment,
  PAGINATE_DEFAULT: 'paginate.default',
  PAGINATE_MAX: 'paginate.max',
  ...readCacheEnvironment,
  CACHE_TTL_PRODUCT_S: 'cacheTtlSeconds.product',
  CACHE_TTL_LIST_S: 'cacheTtlSeconds.list',
  CACHE_TTL_SEARCH_S: 'cacheTtlSeconds.search',
  CACHE_TTL_CATEGORIES_S: 'cacheTtlSeconds.categories'
}

// The app's settings are what its schema says: `app.get('mail')` is typed from it, declared nowhere else.
declare module '@marketmesh/shared' {
  interface ServiceConfiguration extends Static<typeof settingsSchema> {}
}
