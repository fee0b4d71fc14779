import { NotAuthenticated } from '@feathersjs/errors'
import type { HookContext } from '@feathersjs/feathers'
import { durationMs, type ServiceApplication } from '@marketmesh/shared'
import { refuseTooMany, type Limit } from './rate-limits'
import { normalisedEmail } from './services/users/hooks'

/**
 * Runs `attempt`, a check of `email`'s password, under the login limits: within the window at most
 * `maxFailuresPerEmail` wrong passwords for the email and `maxFailuresPerIp` from the client's IP,
 * then 429 with Retry-After, even to the right password. A wrong password is a NotAuthenticated from
 * `attempt`. The attempt is counted before it runs, so parallel guesses cannot all pass the check
 * before the first failure is counted; an attempt that ends otherwise is taken back, and the right
 * password clears the email's failures (not the IP's).
 */
export const limitPasswordGuesses = async <T>(context: HookContext<ServiceApplication>, email: string, attempt: () => Promise<T>) => {
  const settings = context.app.get('loginRateLimit')
  const windowMs = durationMs(settings.window)
  const emailKey = `login-email:${normalisedEmail(email)}`
  const limits: Limit[] = [{ key: emailKey, max: settings.maxFailuresPerEmail, windowMs }]
  if (context.params.ip) limits.push({ key: `login-ip:${context.params.ip}`, max: settings.maxFailuresPerIp, windowMs })

  const rateLimits = context.app.get('rateLimits')
  const taken = await rateLimits.take(limits)
  if (taken.refused) return refuseTooMany(context, taken.retryAfterSeconds, 'Too many failed logins')
  let result: T
  try {
    result = await attempt()
  } catch (error) {
    if (!(error instanceof NotAuthenticated)) await rateLimits.giveBack(taken.hits)
    throw error
  }
  await rateLimits.clear(emailKey)
  await rateLimits.giveBack(taken.hits.filter((hit) => hit.key !== emailKey))
  return result
}
