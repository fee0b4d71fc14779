import { Forbidden } from '@feathersjs/errors'
import { principalOf } from '@marketmesh/shared'
import type { UserHookContext } from '../users.class'
import { dataOf } from './data-of'

export const roleAndStatusOnlyByAdmin = (context: UserHookContext) => {
  const data = dataOf(context)
  if (!context.params.provider || (data?.role === undefined && data?.status === undefined)) return
  if (principalOf(context).role !== 'admin') throw new Forbidden('Only an admin may change a role or status')
}
