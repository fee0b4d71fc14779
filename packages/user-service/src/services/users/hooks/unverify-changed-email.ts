import type { UserHookContext, UserPatch } from '../users.class'
import { dataOf } from './data-of'

/** Before a patch: a new email is not verified yet (`requestVerificationOfEmail` mails it a link). */
export const unverifyChangedEmail = async (context: UserHookContext) => {
  const data: UserPatch | undefined = dataOf(context)
  if (data?.email === undefined) return
  const current = await context.service._get(context.id!, { transaction: context.params.transaction })
  // The hook context is typed by the create data; a patch's is a UserPatch.
  if (current.email !== data.email) context.data = { ...data, emailVerifiedAt: null } as UserPatch as never
}
