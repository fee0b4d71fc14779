import type { ServiceHookContext } from '@marketmesh/shared'

/** Only announcements that have not ended, newest first unless the caller sorts. */
export const onlyCurrent = () => async (context: ServiceHookContext) => {
  const { $and = [], $sort = { createdAt: -1 }, ...query } = context.params.query ?? {}
  context.params.query = { ...query, $sort, $and: [...$and, { $or: [{ endsAt: null }, { endsAt: { $gt: new Date().toISOString() } }] }] }
}
