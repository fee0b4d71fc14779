import { principalOf } from '@marketmesh/shared'
import type { UserHookContext } from '../users.class'

/** A buyer or seller listing users gets only themselves. */
export const listOnlySelfUnlessAdmin = (context: UserHookContext) => {
  if (!context.params.provider) return
  const caller = principalOf(context)
  if (caller.role !== 'admin') context.params.query = { ...context.params.query, id: caller.id }
}
