import type { HookContext, NextFunction } from '@feathersjs/feathers'
import { refuseTooMany, type ServiceApplication } from '@marketmesh/shared'
import { shopOf } from '../../../shop'

/**
 * Around hook of POST /products/:id/images, ahead of the transaction: at most `uploadsPerMinute`
 * upload requests per shop a minute, counted in PostgreSQL for all instances, then 429 with
 * Retry-After. Every request counts, whatever its outcome. Admins are not limited.
 */
export const limitUploadRequests = async (context: HookContext<ServiceApplication>, next: NextFunction) => {
  const { provider, principal } = context.params
  if (!provider || !principal || principal.role === 'admin') return next()
  const max = context.app.get('media').uploadsPerMinute
  const taken = await context.app.get('rateLimits').take([{ key: `image-uploads:${shopOf(principal)}`, max, windowMs: 60_000 }])
  if (taken.refused) return refuseTooMany(context, taken.retryAfterSeconds, 'Too many image uploads')
  await next()
}
