import type { ServiceHookContext } from '@marketmesh/shared'
import { audienceCondition } from '../../../log/audience'

/**
 * Only what the caller may see, as a query condition next to their own (admins: all). Internal
 * calls on a caller's behalf (the stream's replay) pass their principal too.
 */
export const limitToAudience = () => async (context: ServiceHookContext) => {
  const { principal } = context.params
  if (!principal) return
  const condition = audienceCondition(principal)
  if (!condition) return
  const { $and = [], ...query } = context.params.query ?? {}
  context.params.query = { ...query, $and: [...$and, condition] }
}
