import { transactionOf } from '@marketmesh/shared'
import type { User, UserHookContext } from '../users.class'

/**
 * After a patch, before its user.updated: the next version, incremented in SQL within the patch's
 * transaction. The row stays locked until commit, so concurrent patches get distinct versions.
 */
export const bumpVersion = async (context: UserHookContext) => {
  const user = context.result as User
  const [{ version }] = await transactionOf(context)('users').where({ id: context.id }).increment('version', 1).returning('version')
  user.version = version
}
