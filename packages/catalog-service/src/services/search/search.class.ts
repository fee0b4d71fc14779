import type { Params } from '@feathersjs/feathers'
import type { Knex, ReadCache, ServiceApplication } from '@marketmesh/shared'
import { CATEGORIES, LISTINGS, queryKey } from '../../cache'
import { thumbOf } from '../../images/image'
import type { ImageFile } from '../../images/variants'
import type { Product } from '../products/products.schema'
import type { SearchFacets, SearchQuery, SearchResult } from './search.schema'
import { PRICE_BANDS, searchStatements } from './search.sql'

export type { SearchQuery, SearchResult }

export type SearchParams = Params<SearchQuery>

export interface SearchOptions {
  Model: Knex
  paginate: { default: number; max: number }
  /** Where image URLs point (`media.publicUrl`). */
  mediaPublicUrl: string
  readCache?: ReadCache
  ttlSeconds: number
}

interface FacetsRow {
  total: number
  categories: SearchFacets['categories']
  bands: Array<[band: number, count: number]>
  attributes: SearchFacets['attributes']
}

/** Full-text search over the listed products, with filters, sorts and facets. */
export class SearchService {
  constructor(readonly options: SearchOptions) {}

  /** The same for every caller: cached for a short while, and dropped with any product or category change. */
  async find(params: SearchParams = {}): Promise<SearchResult> {
    const { readCache, ttlSeconds } = this.options
    if (!readCache) return this.search(params)
    return readCache.cached(`search:${queryKey(params.query)}`, { kind: 'search', ttlSeconds, tags: [LISTINGS, CATEGORIES] }, () =>
      this.search(params)
    )
  }

  private async search(params: SearchParams): Promise<SearchResult> {
    const query = params.query ?? {}
    const { paginate, Model } = this.options
    const limit = Math.min(query.$limit ?? paginate.default, paginate.max)
    const skip = query.$skip ?? 0
    const { page, facets } = searchStatements(query, limit, skip)
    // Two connections, two cores: the page and the facets take as long as the slower of them.
    const [
      { rows: data },
      {
        rows: [counted]
      }
    ] = await Promise.all([
      Model.raw<{ rows: Array<Product & { firstImageFiles: ImageFile[] | null }> }>(page.sql, page.bindings),
      Model.raw<{ rows: FacetsRow[] }>(facets.sql, facets.bindings)
    ])
    return {
      total: counted.total,
      limit,
      skip,
      data: data.map(({ firstImageFiles, ...product }) => ({ ...product, thumb: thumbOf(firstImageFiles, this.options.mediaPublicUrl) })),
      facets: {
        categories: counted.categories,
        priceRanges: counted.bands.map(([band, count]) => ({
          min: PRICE_BANDS[band],
          max: PRICE_BANDS[band + 1] ?? null,
          count
        })),
        attributes: counted.attributes
      }
    }
  }
}

export const getOptions = (app: ServiceApplication): SearchOptions => ({
  Model: app.get('postgresqlClient'),
  paginate: app.get('paginate'),
  mediaPublicUrl: app.get('media').publicUrl,
  readCache: app.get('readCache'),
  ttlSeconds: app.get('cacheTtlSeconds').search
})
