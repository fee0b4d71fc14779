import { transactionOf } from '@marketmesh/shared'
import { requestEmailVerification } from '../../email-verifications/email-verifications.class'
import type { User, UserHookContext, UserPatch } from '../users.class'
import { dataOf } from './data-of'

/**
 * After a registration (in the welcome mail) or a change of email (see `unverifyChangedEmail`), in
 * the write's transaction: mails the email a link that verifies it.
 */
export const requestVerificationOfEmail = async (context: UserHookContext) => {
  const registered = context.method === 'create'
  const patch: UserPatch | undefined = registered ? undefined : dataOf(context)
  if (!registered && patch?.emailVerifiedAt !== null) return
  await requestEmailVerification(context.app, transactionOf(context), context.result as User, registered)
}
