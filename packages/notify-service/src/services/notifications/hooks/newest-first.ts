import type { ServiceHookContext } from '@marketmesh/shared'

/**
 * Lists are read newest first (by `field`) unless the caller sorts otherwise (e.g. the log's
 * `$sort[id]=1` with `id[$gt]` to catch up).
 */
export const newestFirst =
  (field = 'id') =>
  async (context: ServiceHookContext) => {
    const query = context.params.query ?? {}
    if (!query.$sort) context.params.query = { ...query, $sort: { [field]: -1 } }
  }
