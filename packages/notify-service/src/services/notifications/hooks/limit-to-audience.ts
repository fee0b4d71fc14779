import { principalOf, type ServiceHookContext } from '@marketmesh/shared'
import { audienceCondition } from '../../../log/audience'

/** Only what the caller may see, as a query condition next to their own (admins: all). */
export const limitToAudience = () => async (context: ServiceHookContext) => {
  if (!context.params.provider) return
  const condition = audienceCondition(principalOf(context))
  if (!condition) return
  const { $and = [], ...query } = context.params.query ?? {}
  context.params.query = { ...query, $and: [...$and, condition] }
}
