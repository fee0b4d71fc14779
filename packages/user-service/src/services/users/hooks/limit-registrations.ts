import type { NextFunction } from '@feathersjs/feathers'
import { durationMs, refuseTooMany } from '@marketmesh/shared'
import type { UserHookContext } from '../users.class'

/**
 * Around hook of POST /users, ahead of the transaction: at most `maxPerIp` registrations per client
 * IP within the window, counted in PostgreSQL for all instances, then 429 with Retry-After. Every
 * attempt counts, whatever its outcome: each costs a password hash, and a 409 tells whether an email
 * has an account. An admin creating accounts is not limited.
 */
export const limitRegistrations = async (context: UserHookContext, next: NextFunction) => {
  const { provider, principal, ip } = context.params
  if (!provider || !ip || principal?.role === 'admin') return next()
  const { window, maxPerIp } = context.app.get('registrationRateLimit')
  const taken = await context.app.get('rateLimits').take([{ key: `registration-ip:${ip}`, max: maxPerIp, windowMs: durationMs(window) }])
  if (taken.refused) return refuseTooMany(context, taken.retryAfterSeconds, 'Too many registrations from this address')
  await next()
}
