import type { Query } from '@feathersjs/feathers'
import { invalidField, type ServiceHookContext } from '@marketmesh/shared'
import type { ReviewService } from '../reviews.class'

const PRIVATE_FIELDS = ['buyerId', 'orderId'] as const

/** Whether the query filters or sorts by `field`, also inside `$or` and `$and`. */
const uses = (query: Query, field: string): boolean =>
  field in query || field in (query.$sort ?? {}) || [...(query.$or ?? []), ...(query.$and ?? [])].some((part: Query) => uses(part, field))

/**
 * Who bought what is private: reviews are filtered or sorted by buyer or order only by an admin,
 * or by a buyer about their own (`buyerId` = their id). Anyone else learns nothing from the answer
 * to `?buyerId=`, not even a count.
 */
export const purchaseFiltersOnlyForTheirBuyer = () => (context: ServiceHookContext<ReviewService>) => {
  const { provider, principal, query = {} } = context.params
  if (!provider || principal?.role === 'admin' || (principal !== undefined && query.buyerId === principal.id)) return
  const field = PRIVATE_FIELDS.find((name) => uses(query, name))
  if (field) throw invalidField(field, 'only an admin, or a buyer with buyerId set to their own id, may filter or sort reviews by it')
}
