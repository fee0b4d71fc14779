import type { NextFunction } from '@feathersjs/feathers'
import { durationMs, refuseTooMany, type ServiceHookContext } from '@marketmesh/shared'

/**
 * Around hook of POST /payment-webhooks/:provider, before the signature is checked: at most
 * `paymentWebhookRateLimit.maxPerIp` requests per source IP within the window (generous: a
 * provider sends bursts from few addresses), then 429 with Retry-After, which providers honour
 * by delivering again later. Signed or not, every request counts: it bounds what forged ones cost.
 */
export const limitWebhooksPerIp = async (context: ServiceHookContext, next: NextFunction) => {
  if (!context.params.provider) return next()
  const { window, maxPerIp } = context.app.get('paymentWebhookRateLimit')
  const key = `payment-webhooks:${context.params.ip ?? 'unknown'}`
  const taken = await context.app.get('rateLimits').take([{ key, max: maxPerIp, windowMs: durationMs(window) }])
  if (taken.refused) return refuseTooMany(context, taken.retryAfterSeconds, 'Too many webhook requests from this address')
  await next()
}
