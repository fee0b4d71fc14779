import { Forbidden } from '@feathersjs/errors'
import type { UserHookContext } from '../users.class'
import { dataOf } from './data-of'

/** Registration is for buyers and sellers; an admin comes from an admin or from the CLI (an internal call). */
export const refuseAdminRegistration = (context: UserHookContext) => {
  if (context.params.provider && dataOf(context)?.role === 'admin' && context.params.principal?.role !== 'admin') {
    throw new Forbidden('An admin account can only be created by an admin')
  }
}
