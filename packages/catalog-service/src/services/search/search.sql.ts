import type { Knex } from '@marketmesh/shared'
import { productColumns } from '../products/products.schema'
import { isListed, shopNameOf } from '../products/products.sql'
import type { SearchQuery } from './search.schema'

/** Lower bounds of the price bands of the facet, in minor units. */
export const PRICE_BANDS = [0, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000]

// GROUPING("categoryId", band, "attributeValueIds"): a bit is set for each column a grouping set leaves out.
const FACET = { category: 0b011, band: 0b101, attributes: 0b110, total: 0b111 }

/** The most frequent values shown per attribute: an attribute unique per product must not flood the answer. */
const VALUES_PER_ATTRIBUTE = 20

const orders: Record<NonNullable<SearchQuery['sort']>, Array<[column: string, direction: string]>> = {
  relevance: [
    ['rank', 'DESC'],
    ['"createdAt"', 'DESC'],
    ['id', 'ASC']
  ],
  price: [
    ['price', 'ASC'],
    ['id', 'ASC']
  ],
  '-price': [
    ['price', 'DESC'],
    ['id', 'ASC']
  ],
  rating: [
    ['rating', 'DESC NULLS LAST'],
    ['"ratingCount"', 'DESC'],
    ['id', 'ASC']
  ],
  newest: [
    ['"createdAt"', 'DESC'],
    ['id', 'ASC']
  ]
}

/** By the columns of the page's inner select (`table` omitted), or of its alias outside. */
const orderBy = (sort: keyof typeof orders, table?: string) =>
  orders[sort].map(([column, direction]) => `${table ? `${table}.` : ''}${column} ${direction}`).join(', ')

/** A query-string value matches the attribute as text, and as the number or boolean it spells. */
const attributeCandidates = (value: string) => {
  const candidates: unknown[] = [value]
  if (value.trim() !== '' && Number.isFinite(Number(value))) candidates.push(Number(value))
  if (value === 'true' || value === 'false') candidates.push(value === 'true')
  return candidates.map((candidate) => JSON.stringify(candidate))
}

const TSQUERY = `websearch_to_tsquery('english', ?)`

/** The listed products the query selects, as a WHERE clause over `products p`. */
const matching = (query: SearchQuery) => {
  const where = ['p."deletedAt" IS NULL', isListed('p')]
  const bindings: Knex.RawBinding[] = []
  const text = query.q?.trim()
  if (text) {
    // Inline rather than joined in FROM, so that the planner estimates the matches from the index.
    where.push(`p."searchVector" @@ ${TSQUERY}`)
    bindings.push(text)
  }
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
    const candidates = attributeCandidates(value)
    where.push(`p."attributeValueIds" && ARRAY(
      SELECT id FROM attribute_values WHERE key = ? AND value IN (${candidates.map(() => '?::jsonb').join(', ')}))`)
    bindings.push(key, ...candidates)
  }
  // The generated column the listing index carries (migration 0012), not stock itself: stock changes with every reservation.
  if (query.inStock) where.push('p."inStock"')
  return { text, sql: where.join('\n      AND '), bindings }
}

/**
 * A search is two statements that the service runs at once, on two connections: the page, and
 * the facets counted over everything that matches. Both read only the slim listing index where
 * the query has no text; only the page's 20 rows are read whole.
 */
export const searchStatements = (query: SearchQuery, limit: number, skip: number) => {
  const where = matching(query)
  const sort = query.sort ?? (where.text ? 'relevance' : 'newest')
  // ts_rank weighs title (A) 1.0 against description (B) 0.4.
  const rank = where.text ? `ts_rank(p."searchVector", ${TSQUERY})` : '0::real'

  const page = {
    sql: `
      SELECT ${productColumns.map((column) => `p."${column}"`).join(', ')}, ${shopNameOf('p')} AS "shopName", ${isListed('p')} AS available,
        (SELECT i.files FROM product_images i WHERE i."productId" = p.id AND i.status = 'ready' ORDER BY i.position, i."createdAt" LIMIT 1) AS "firstImageFiles"
      FROM (
        SELECT p.id, p.price, p."createdAt", p.rating, p."ratingCount", ${rank} AS rank
        FROM products p
        WHERE ${where.sql}
        ORDER BY ${orderBy(sort)} LIMIT ? OFFSET ?
      ) page
      JOIN products p ON p.id = page.id
      ORDER BY ${orderBy(sort, 'page')}`,
    bindings: [...(where.text ? [where.text] : []), ...where.bindings, limit, skip]
  }

  const band = `width_bucket(p.price, ARRAY[${PRICE_BANDS.slice(1).join(', ')}])`
  const facets = {
    sql: `
      -- One pass over the matches counts every facet: per category, per price band, per distinct
      -- set of attribute values (products share them, so expanding the sets below is cheap), and in all.
      WITH counts AS (
        SELECT p."categoryId", ${band} AS band, p."attributeValueIds" AS ids, count(*) AS count,
               GROUPING(p."categoryId", ${band}, p."attributeValueIds") AS facet
        FROM products p
        WHERE ${where.sql}
        GROUP BY GROUPING SETS ((p."categoryId"), (${band}), (p."attributeValueIds"), ())
      ),
      value_counts AS (
        SELECT v.key, v.value, per_value.count,
               row_number() OVER (PARTITION BY v.key ORDER BY per_value.count DESC, v.value) AS position
        FROM (
          SELECT id, sum(count) AS count FROM counts, unnest(ids) id WHERE facet = ${FACET.attributes} GROUP BY id
        ) per_value
        JOIN attribute_values v ON v.id = per_value.id
      )
      SELECT
        coalesce((SELECT count FROM counts WHERE facet = ${FACET.total}), 0)::integer AS total,
        (SELECT coalesce(json_agg(json_build_object('id', c.id, 'name', c.name, 'count', counts.count) ORDER BY counts.count DESC, c.name), '[]')
           FROM counts JOIN categories c ON c.id = counts."categoryId"
           WHERE counts.facet = ${FACET.category}) AS categories,
        (SELECT coalesce(json_agg(json_build_array(band, count) ORDER BY band), '[]')
           FROM counts WHERE facet = ${FACET.band}) AS bands,
        (SELECT coalesce(json_object_agg(key, "values"), '{}') FROM (
           SELECT key, json_agg(json_build_object('value', value, 'count', count) ORDER BY count DESC, value) AS "values"
           FROM value_counts WHERE position <= ${VALUES_PER_ATTRIBUTE} GROUP BY key
         ) per_attribute) AS attributes`,
    bindings: where.bindings
  }
  return { page, facets }
}
