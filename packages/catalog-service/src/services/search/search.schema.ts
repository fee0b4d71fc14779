import { getValidator, StringEnum, Type, type Static } from '@feathersjs/typebox'
import { queryValidator } from '@marketmesh/shared'
import { productSchema } from '../products/products.schema'

export const searchSorts = ['relevance', 'price', '-price', 'rating', 'newest'] as const

// The ranges of the columns and of LIMIT/OFFSET they are compared with: a larger number is a 400, not a database error.
const Price = Type.Integer({ minimum: 0, maximum: 2_147_483_647 })
const Count = Type.Integer({ minimum: 0, maximum: 2_147_483_647 })

export const searchQuerySchema = Type.Object(
  {
    /** Web-search syntax: words, "a phrase", -excluded, or. Empty: list by the other filters. */
    q: Type.Optional(Type.String({ maxLength: 200 })),
    /** The category and every category below it. */
    categoryId: Type.Optional(Type.String({ format: 'uuid' })),
    minPrice: Type.Optional(Price),
    maxPrice: Type.Optional(Price),
    /** `attributes[color]=red`: the attribute equals the value (a number or boolean matches its text too). */
    attributes: Type.Optional(
      Type.Record(Type.String(), Type.String({ maxLength: 200 }), {
        propertyNames: { minLength: 1, maxLength: 64 },
        maxProperties: 10
      })
    ),
    /** true: only products with stock left. */
    inStock: Type.Optional(Type.Boolean()),
    /** Default: relevance with `q`, newest without. */
    sort: Type.Optional(StringEnum([...searchSorts])),
    $limit: Type.Optional(Count),
    $skip: Type.Optional(Count)
  },
  { $id: 'SearchQuery', additionalProperties: false }
)
export type SearchQuery = Static<typeof searchQuerySchema>
export const searchQueryValidator = getValidator(searchQuerySchema, queryValidator)

export const searchFacetsSchema = Type.Object(
  {
    /** How many matching products each category holds directly. */
    categories: Type.Array(Type.Object({ id: Type.String({ format: 'uuid' }), name: Type.String(), count: Count })),
    /** Matching products per price band [min, max) in minor units; max is null for the top band. */
    priceRanges: Type.Array(Type.Object({ min: Price, max: Type.Union([Price, Type.Null()]), count: Count })),
    /** Per attribute, the most frequent scalar values among the matching products. */
    attributes: Type.Record(
      Type.String(),
      Type.Array(Type.Object({ value: Type.Union([Type.String(), Type.Number(), Type.Boolean()]), count: Count }))
    )
  },
  { $id: 'SearchFacets', additionalProperties: false }
)
export type SearchFacets = Static<typeof searchFacetsSchema>

export const searchResultSchema = Type.Object(
  {
    total: Count,
    limit: Count,
    skip: Count,
    /** Each product with its first ready image's 200 px WebP (`thumb`), or null. */
    data: Type.Array(Type.Intersect([Type.Omit(productSchema, ['images']), Type.Object({ thumb: Type.Union([Type.String(), Type.Null()]) })])),
    facets: searchFacetsSchema
  },
  { $id: 'SearchResult', additionalProperties: false }
)
export type SearchResult = Static<typeof searchResultSchema>
