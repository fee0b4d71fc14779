import type { UserHookContext } from '../users.class'
import { dataOf } from './data-of'

export const normalisedEmail = (email: string) => email.trim().toLowerCase()

/** Emails compare case-insensitively: they are stored, looked up and rate-limited in one form. */
export const normaliseEmail = (context: UserHookContext) => {
  const data = dataOf(context)
  if (typeof data?.email === 'string') context.data = { ...data, email: normalisedEmail(data.email) }
}
