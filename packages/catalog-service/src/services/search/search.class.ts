import type { Params } from '@feathersjs/feathers'
import type { Knex, ServiceApplication } from '@marketmesh/shared'
import type { Product } from '../products/products.schema'
import type { SearchFacets, SearchQuery, SearchResult } from './search.schema'
import { PRICE_BANDS, searchStatement } from './search.sql'

export type { SearchQuery, SearchResult }

export type SearchParams = Params<SearchQuery>

export interface SearchOptions {
  Model: Knex
  paginate: { default: number; max: number }
}

interface SearchRow extends Product {
  facetTotal: number
  facetCategories: string
  facetBands: string
  facetAttributes: string
}

/** Full-text search over the listed products, with filters, sorts and facets. */
export class SearchService {
  constructor(readonly options: SearchOptions) {}

  async find(params: SearchParams = {}): Promise<SearchResult> {
    const query = params.query ?? {}
    const { paginate, Model } = this.options
    const limit = Math.min(query.$limit ?? paginate.default, paginate.max)
    const skip = query.$skip ?? 0
    const { sql, bindings } = searchStatement(query, limit, skip)
    const { rows } = await Model.raw<{ rows: SearchRow[] }>(sql, bindings)
    const [first] = rows
    return {
      total: first.facetTotal,
      limit,
      skip,
      data: rows.filter((row) => row.id !== null).map(productOf),
      facets: {
        categories: JSON.parse(first.facetCategories),
        priceRanges: (JSON.parse(first.facetBands) as Array<[number, number]>).map(([band, count]) => ({
          min: PRICE_BANDS[band],
          max: PRICE_BANDS[band + 1] ?? null,
          count
        })),
        attributes: JSON.parse(first.facetAttributes)
      } satisfies SearchFacets
    }
  }
}

/** A row is a product plus the facets, which every row carries. */
const productOf = ({ facetTotal, facetCategories, facetBands, facetAttributes, ...product }: SearchRow): Product => product

export const getOptions = (app: ServiceApplication): SearchOptions => ({
  Model: app.get('postgresqlClient'),
  paginate: app.get('paginate')
})
