import { transactionOf } from '@marketmesh/shared'
import { revokeUserSessions } from '../../../authentication/sessions'
import type { User, UserHookContext } from '../users.class'
import { dataOf } from './data-of'

/** A new password or a disabled account ends every session: refresh tokens stop working. */
export const revokeSessionsOnCredentialChange = async (context: UserHookContext) => {
  const data = dataOf(context)
  if (data?.password === undefined && data?.status !== 'disabled') return
  await revokeUserSessions(transactionOf(context), (context.result as User).id)
}
