import { NotAuthenticated } from '@feathersjs/errors'
import type { HookContext } from '@feathersjs/feathers'
import { durationMs, type ServiceApplication, refuseTooMany, type Limit } from '@marketmesh/shared'
import { normalisedEmail } from './email-addresses'

/**
 * Runs `attempt`, a check of `email`'s password, under the login limits: within the window at most
 * `maxFailuresPerEmailAndIp` wrong passwords for the email from the client's IP, `maxFailuresPerEmail`
 * for the email from all addresses together and `maxFailuresPerIp` from the IP for any email, then
 * 429 with Retry-After, even to the right password. The low limit is the pair's: a stranger guessing
 * from elsewhere does not lock the owner out, only a guessing spread over many addresses does. A
 * wrong password is a NotAuthenticated from `attempt`. The attempt is counted before it runs, so
 * parallel guesses cannot all pass the check before the first failure is counted; an attempt that
 * ends otherwise is taken back, and the right password clears the pair's failures (not the email's
 * nor the IP's, which count others' guesses too).
 */
export const limitPasswordGuesses = async <T>(context: HookContext<ServiceApplication>, email: string, attempt: () => Promise<T>) => {
  const settings = context.app.get('loginRateLimit')
  const windowMs = durationMs(settings.window)
  const { ip } = context.params
  const normalised = normalisedEmail(email)
  // Without an address (an internal call) the pair is the email's alone.
  const pairKey = `login-email-ip:${normalised} ${ip ?? ''}`
  const limits: Limit[] = [
    { key: pairKey, max: settings.maxFailuresPerEmailAndIp, windowMs },
    { key: `login-email:${normalised}`, max: settings.maxFailuresPerEmail, windowMs }
  ]
  if (ip) limits.push({ key: `login-ip:${ip}`, max: settings.maxFailuresPerIp, windowMs })

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
  await rateLimits.clear(pairKey)
  await rateLimits.giveBack(taken.hits.filter((hit) => hit.key !== pairKey))
  return result
}
