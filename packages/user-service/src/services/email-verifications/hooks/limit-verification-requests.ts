import type { HookContext, NextFunction } from '@feathersjs/feathers'
import { durationMs, type ServiceApplication, refuseTooMany } from '@marketmesh/shared'

/**
 * Around hook of POST /email-verifications, after `authenticated()`: at most `maxPerUser` new links
 * per user within the window, then 429 with Retry-After, so that nobody floods their own inbox
 * (or, after an email change, someone else's).
 */
export const limitVerificationRequests = async (context: HookContext<ServiceApplication>, next: NextFunction) => {
  const { window, maxPerUser } = context.app.get('emailVerification')
  const key = `email-verification-user:${context.params.principal?.id}`
  const taken = await context.app.get('rateLimits').take([{ key, max: maxPerUser, windowMs: durationMs(window) }])
  if (taken.refused) return refuseTooMany(context, taken.retryAfterSeconds, 'Too many verification mails asked for')
  await next()
}
