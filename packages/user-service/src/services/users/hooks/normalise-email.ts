import type { HookContext } from '@feathersjs/feathers'
import { normalisedEmail } from '../../../email-addresses'

/** Emails compare case-insensitively: they are stored, looked up and rate-limited in one form (users, password resets). */
export const normaliseEmail = (context: HookContext) => {
  const { data } = context
  if (!Array.isArray(data) && typeof data?.email === 'string') context.data = { ...data, email: normalisedEmail(data.email) }
}
