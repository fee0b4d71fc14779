import { Forbidden } from '@feathersjs/errors'
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

export const onlySelfOrAdmin = (context: UserHookContext) => {
  if (!context.params.provider) return
  const caller = callerOf(context)
  if (caller?.role !== 'admin' && caller?.id !== context.id) throw new Forbidden('Only the user or an admin may do this')
}
