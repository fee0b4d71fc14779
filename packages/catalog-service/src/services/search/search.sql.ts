import type { Knex } from '@marketmesh/shared'
import { productColumns } from '../products/products.schema'
import { isListed, shopNameOf } from '../products/products.sql'
import type { SearchQuery } from './search.schema'

/** Lower bounds of the price bands of the facet, in minor units. */
export const PRICE_BANDS = [0, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000]

// GROUPING("categoryId", band, attributes): a bit is set for each column a grouping set leaves out.
const FACET = { category: 0b011, band: 0b101, attributes: 0b110, total: 0b111 }

/** The most frequent values shown per attribute: an attribute unique per product must not flood the answer. */
const VALUES_PER_ATTRIBUTE = 20

const orders: Record<NonNullable<SearchQuery['sort']>, Array<[column: string, direction: string]>> = {
  relevance: [['rank', 'DESC'], ['"createdAt"', 'DESC'], ['id', 'ASC']],
  price: [['price', 'ASC'], ['id', 'ASC']],
  '-price': [['price', 'DESC'], ['id', 'ASC']],
  rating: [['rating', 'DESC NULLS LAST'], ['"ratingCount"', 'DESC'], ['id', 'ASC']],
  newest: [['"createdAt"', 'DESC'], ['id', 'ASC']]
}

const orderBy = (sort: keyof typeof orders, table: string) =>
  orders[sort].map(([column, direction]) => `${table}.${column} ${direction}`).join(', ')

/** A query-string value matches the attribute as text, and as the number or boolean it spells. */
const attributeCandidates = (key: string, value: string) => {
  const candidates: unknown[] = [value]
  if (value.trim() !== '' && Number.isFinite(Number(value))) candidates.push(Number(value))
  if (value === 'true' || value === 'false') candidates.push(value === 'true')
  return candidates.map((candidate) => JSON.stringify({ [key]: candidate }))
}

/**
 * One statement, one round trip: the filtered set (`matched`), the page of it, and the facets
 * counted over all of it. Every row carries the facets; the facets are text so that only one
 * row's copy is parsed.
 */
export const searchStatement = (query: SearchQuery, limit: number, skip: number) => {
  const bindings: Knex.RawBinding[] = []
  const where = ['p."deletedAt" IS NULL', isListed('p')]
  const text = query.q?.trim()
  if (text) where.push('p."searchVector" @@ query')
  if (query.categoryId) {
    // As an array computed first, so that the planner uses the category index for it.
    where.push(`p."categoryId" = ANY(ARRAY(
      WITH RECURSIVE tree AS (
        SELECT id FROM categories WHERE id = ?
        UNION ALL SELECT c.id FROM categories c JOIN tree ON c."parentId" = tree.id
      ) SELECT id FROM tree))`)
    bindings.push(query.categoryId)
  }
  if (query.minPrice !== undefined) {
    where.push('p.price >= ?')
    bindings.push(query.minPrice)
  }
  if (query.maxPrice !== undefined) {
    where.push('p.price <= ?')
    bindings.push(query.maxPrice)
  }
  for (const [key, value] of Object.entries(query.attributes ?? {})) {
    const candidates = attributeCandidates(key, value)
    where.push(`(${candidates.map(() => 'p.attributes @> ?::jsonb').join(' OR ')})`)
    bindings.push(...candidates)
  }
  if (query.inStock) where.push('p.stock > 0')

  const sort = query.sort ?? (text ? 'relevance' : 'newest')
  // ts_rank weighs title (A) 1.0 against description (B) 0.4.
  const rank = text ? 'ts_rank(p."searchVector", query)' : '0::real'

  const band = `width_bucket(price, ARRAY[${PRICE_BANDS.slice(1).join(', ')}])`
  const sql = `
    WITH matched AS MATERIALIZED (
      SELECT p.id, p.price, p."categoryId", p.attributes, p."createdAt", p.rating, p."ratingCount", ${rank} AS rank
      FROM products p${text ? `, websearch_to_tsquery('english', ?) query` : ''}
      WHERE ${where.join('\n        AND ')}
    ),
    page AS (
      SELECT id, price, "createdAt", rating, "ratingCount", rank FROM matched
      ORDER BY ${orderBy(sort, 'matched')} LIMIT ? OFFSET ?
    ),
    -- One pass over the matches counts every facet: per category, per price band, per distinct
    -- set of attributes (products share them, so expanding the sets below is cheap), and in all.
    counts AS (
      SELECT "categoryId", ${band} AS band, attributes, count(*) AS count,
             GROUPING("categoryId", ${band}, attributes) AS facet
      FROM matched
      GROUP BY GROUPING SETS (("categoryId"), (${band}), (attributes), ())
    ),
    value_counts AS (
      SELECT a.key, a.value, sum(counts.count) AS count,
             row_number() OVER (PARTITION BY a.key ORDER BY sum(counts.count) DESC, a.value) AS position
      FROM counts, jsonb_each(counts.attributes) a
      WHERE counts.facet = ${FACET.attributes} AND jsonb_typeof(a.value) IN ('string', 'number', 'boolean')
      GROUP BY a.key, a.value
    ),
    facets AS (
      SELECT
        (SELECT count FROM counts WHERE facet = ${FACET.total}) AS "facetTotal",
        (SELECT coalesce(json_agg(json_build_object('id', c.id, 'name', c.name, 'count', counts.count) ORDER BY counts.count DESC, c.name), '[]')
           FROM counts JOIN categories c ON c.id = counts."categoryId"
           WHERE counts.facet = ${FACET.category})::text AS "facetCategories",
        (SELECT coalesce(json_agg(json_build_array(band, count) ORDER BY band), '[]')
           FROM counts WHERE facet = ${FACET.band})::text AS "facetBands",
        (SELECT coalesce(json_object_agg(key, "values"), '{}') FROM (
           SELECT key, json_agg(json_build_object('value', value, 'count', count) ORDER BY count DESC, value) AS "values"
           FROM value_counts WHERE position <= ${VALUES_PER_ATTRIBUTE} GROUP BY key
         ) per_attribute)::text AS "facetAttributes"
    )
    SELECT facets.*,
           ${productColumns.map((column) => `p."${column}"`).join(', ')},
           ${shopNameOf('p')} AS "shopName"
    FROM facets
    LEFT JOIN page ON true
    LEFT JOIN products p ON p.id = page.id
    ORDER BY ${orderBy(sort, 'page')}`
  return { sql, bindings: [...(text ? [text] : []), ...bindings, limit, skip] }
}
