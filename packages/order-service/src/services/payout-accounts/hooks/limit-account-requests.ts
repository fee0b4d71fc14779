import type { NextFunction } from '@feathersjs/feathers'
import { durationMs, principalOf, refuseTooMany, type ServiceHookContext } from '@marketmesh/shared'

/**
 * Around hook of POST /payout-accounts: at most `payoutAccountRateLimit.maxPerSeller` requests per
 * seller within the window, counted in PostgreSQL for all instances, then 429 with Retry-After.
 * Each request asks the provider (an account, an onboarding link), whatever its outcome, so each counts.
 */
export const limitAccountRequests = async (context: ServiceHookContext, next: NextFunction) => {
  if (!context.params.provider) return next()
  const { id, sellerId } = principalOf(context)
  const { window, maxPerSeller } = context.app.get('payoutAccountRateLimit')
  const taken = await context.app
    .get('rateLimits')
    .take([{ key: `payout-accounts:${sellerId ?? id}`, max: maxPerSeller, windowMs: durationMs(window) }])
  if (taken.refused) return refuseTooMany(context, taken.retryAfterSeconds, 'Too many payout account requests')
  await next()
}
