import type { HookContext, NextFunction } from '@feathersjs/feathers'
import { durationMs, type ServiceApplication, refuseTooMany, type Limit } from '@marketmesh/shared'
import { normalisedEmail } from '../../../email-addresses'

/**
 * Around hook of POST /password-resets: at most `maxPerEmail` requests for an email and `maxPerIp`
 * from a client IP within the window, then 429 with Retry-After, so that nobody floods an inbox or
 * mails many. Every request counts, whether the email has an account or not: the limit tells
 * nothing. The email is counted in its normalised form.
 */
export const limitPasswordResetRequests = async (context: HookContext<ServiceApplication>, next: NextFunction) => {
  // Anything but a string is the validation's 400.
  if (typeof context.data?.email !== 'string') return next()
  const email = normalisedEmail(context.data.email)
  const { window, maxPerEmail, maxPerIp } = context.app.get('passwordReset')
  const windowMs = durationMs(window)
  const limits: Limit[] = [{ key: `password-reset-email:${email}`, max: maxPerEmail, windowMs }]
  const { ip } = context.params
  if (ip) limits.push({ key: `password-reset-ip:${ip}`, max: maxPerIp, windowMs })
  const taken = await context.app.get('rateLimits').take(limits)
  if (taken.refused) return refuseTooMany(context, taken.retryAfterSeconds, 'Too many password reset requests')
  await next()
}
