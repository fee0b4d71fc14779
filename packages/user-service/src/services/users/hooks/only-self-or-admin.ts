import { NotFound } from '@feathersjs/errors'
import type { Principal } from '@marketmesh/shared'
import type { UserHookContext } from '../users.class'

/**
 * The caller: the verified principal or, while a login loads its user through this service
 * (Feathers passes it as `params.user` of an already authenticated call), that user.
 */
const callerOf = (context: UserHookContext): Principal | undefined => {
  const { principal, authenticated, user } = context.params
  return principal ?? (authenticated && user ? { id: user.id, role: user.role } : undefined)
}

/** Another user's record answers 404, as if it did not exist (the same answer as an unknown id). */
export const onlySelfOrAdmin = (context: UserHookContext) => {
  if (!context.params.provider) return
  const caller = callerOf(context)
  if (caller?.role !== 'admin' && caller?.id !== context.id) throw new NotFound(`No record found for id '${context.id}'`)
}
