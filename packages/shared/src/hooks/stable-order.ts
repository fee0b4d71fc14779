import type { HookContext } from '@feathersjs/feathers'

type Sort = Record<string, 1 | -1>

/**
 * A list in one order a client can page through: the caller's `$sort`, else `defaultSort`
 * (newest first), and the id last, so that records sharing the sort's values (the orders of one
 * checkout share `createdAt`, written in one transaction) come in the same order on every page:
 * with `$skip`, none is skipped and none comes twice. Without an ORDER BY, PostgreSQL's order is
 * whatever its plan reads, and may differ between two pages' queries.
 *
 * For a find's `before` hooks, after the query's validation (which makes `$sort`'s directions numbers).
 */
export const stableOrder =
  (defaultSort: Sort = { createdAt: -1 }) =>
  (context: HookContext) => {
    const query = context.params.query ?? {}
    const sort: Sort = query.$sort && Object.keys(query.$sort).length > 0 ? query.$sort : defaultSort
    if ('id' in sort) {
      context.params.query = { ...query, $sort: sort }
      return
    }
    const directions = Object.values(sort)
    context.params.query = { ...query, $sort: { ...sort, id: Number(directions[directions.length - 1] ?? -1) === 1 ? 1 : -1 } }
  }
