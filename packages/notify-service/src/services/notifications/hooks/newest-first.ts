import type { ServiceHookContext } from '@marketmesh/shared'

/** The log is read newest first unless the caller sorts otherwise (e.g. `$sort[id]=1` with `id[$gt]` to catch up). */
export const newestFirst = () => async (context: ServiceHookContext) => {
  const query = context.params.query ?? {}
  if (!query.$sort) context.params.query = { ...query, $sort: { id: -1 } }
}
