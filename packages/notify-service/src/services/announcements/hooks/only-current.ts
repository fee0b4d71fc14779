import type { ServiceHookContext } from '@marketmesh/shared'

/** Only announcements that have not ended (their order is stableOrder's, after this hook). */
export const onlyCurrent = () => async (context: ServiceHookContext) => {
  const { $and = [], ...query } = context.params.query ?? {}
  context.params.query = { ...query, $and: [...$and, { $or: [{ endsAt: null }, { endsAt: { $gt: new Date().toISOString() } }] }] }
}
